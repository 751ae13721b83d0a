// Package textfmt renders the API's values for a terminal, safely: text
// from the network never moves the cursor, recolours the terminal or
// passes for another line.
package textfmt
