// Package sqlitedb opens the node's SQLite database the one way every
// store uses it (pragmas, file mode) and runs each store's versioned
// migrations; the room store (overlay) and the file index (files) each
// open their own handle with it.
package sqlitedb
