package api

import (
	"fmt"
	"strings"
)

// ChatHelp lists the chat commands (the answer to /help, and the message
// of an unknown command's error).
const ChatHelp = `chat commands:
  /nick NAME    change your nickname in this room
  /me ACTION    say what you do ("* nick ACTION")
  /who          list the room's members
  /share PATH   share a file: add it and post its link (f2f file add PATH --room ROOM)
  /files        list the files shared in this room (f2f file ls --room ROOM)
  /mixer        the room's mixer, term and scores; /mixer set PEER pins
                one for everyone, /mixer auto lets the election pick again
  /todo         the room's todo list; /todo add TEXT adds an item,
                /todo done N marks item N done
  /agenda       the meeting's agenda; /agenda start TIME sets its start,
                /agenda add [TIME] TITLE adds a 10-minute item (after the
                last one without TIME)
  /help         this help
  //TEXT        send TEXT starting with a single /`

// Chat commands, as ParseChat names them.
const (
	ChatText   = ""      // not a command: Arg is the message
	ChatNick   = "nick"  // Arg: the new nickname
	ChatMe     = "me"    // Arg: the action
	ChatWho    = "who"   // the members
	ChatMixer  = "mixer" // Arg: "", "set PEER" or "auto"
	ChatHelpC  = "help"
	ChatTodo   = "todo"   // Arg: "", "add TEXT" or "done N"
	ChatAgenda = "agenda" // Arg: "", "start TIME" or "add [TIME] TITLE"
	// ChatShare and ChatFiles read or list local files: the client runs
	// them (add with room=, list with room=); the daemon refuses them.
	ChatShare = "share" // Arg: a path
	ChatFiles = "files"
)

var chatCommands = []string{ChatNick, ChatMe, ChatWho, ChatMixer, ChatHelpC, ChatShare, ChatFiles, ChatTodo, ChatAgenda}

// ChatCommand is a chat line, parsed.
type ChatCommand struct {
	Name string // one of the Chat... constants
	Arg  string // trimmed; for ChatText the text as typed
}

// ParseChat parses what a user typed in a chat: text starting with / is
// a command, // sends a text starting with a single /. An unknown command
// is an error wrapping ErrUnknownCommand. This is the one parser of chat
// lines: the daemon, the CLI and the browser page's behaviour follow it.
func ParseChat(text string) (ChatCommand, error) {
	if strings.HasPrefix(text, "//") {
		return ChatCommand{Name: ChatText, Arg: text[1:]}, nil
	}
	if !strings.HasPrefix(text, "/") {
		return ChatCommand{Name: ChatText, Arg: text}, nil
	}
	name, arg, _ := strings.Cut(strings.TrimSpace(text[1:]), " ")
	for _, c := range chatCommands {
		if name == c {
			return ChatCommand{Name: c, Arg: strings.TrimSpace(arg)}, nil
		}
	}
	return ChatCommand{}, fmt.Errorf("%w /%s", ErrUnknownCommand, name)
}
