package node

import (
	"context"
	"fmt"
	"strings"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/overlay"
)

// Chat runs one chat line in a room (POST /api/v1/rooms/{room}/chat): a
// message, or a chat command as api.ParseChat reads it, through the
// typed calls of the room service. An unknown command is an error
// wrapping api.ErrUnknownCommand and sends nothing.
func (n *Node) Chat(ctx context.Context, room, text string) (api.SendResult, error) {
	c, err := api.ParseChat(text)
	if err != nil {
		return api.SendResult{}, err
	}
	sent := func(m overlay.ChatMessage, err error) (api.SendResult, error) {
		if err != nil {
			return api.SendResult{}, err
		}
		return api.SendResult{Sent: true, Message: apiChatPtr(&m)}, nil
	}
	output := func(out string, err error) (api.SendResult, error) {
		return api.SendResult{Output: out}, err
	}
	switch c.Name {
	case api.ChatText:
		return sent(n.rooms.Send(ctx, room, c.Arg))
	case api.ChatMe:
		return sent(n.rooms.Me(ctx, room, c.Arg))
	case api.ChatNick:
		res, err := sent(n.rooms.SetNick(ctx, room, c.Arg))
		if err == nil {
			res.Output = "you are now known as " + c.Arg
		}
		return res, err
	case api.ChatWho:
		return output(n.rooms.WhoText(ctx, room))
	case api.ChatHelpC:
		return output(api.ChatHelp, nil)
	case api.ChatMixer:
		verb, rest, _ := strings.Cut(c.Arg, " ")
		var req overlay.MixerChangeRequest
		switch verb {
		case "":
			return output(n.rooms.MixerText(ctx, room))
		case "set":
			req.Pin = strings.TrimSpace(rest)
		case "auto":
			req.Auto = true
		default:
			return api.SendResult{}, fmt.Errorf("%w /mixer %s (want /mixer, /mixer set PEER or /mixer auto)", api.ErrUnknownCommand, verb)
		}
		if _, err := n.rooms.SetMixer(ctx, room, req); err != nil {
			return api.SendResult{}, err
		}
		return output(n.rooms.MixerText(ctx, room))
	case api.ChatTodo, api.ChatAgenda:
		return output(n.docChat(ctx, room, c))
	}
	// /share and /files read or list local files: the client runs them.
	return api.SendResult{}, fmt.Errorf("%w /%s: it runs in the f2f CLI (f2f file add PATH --room ROOM, f2f file ls --room ROOM)",
		api.ErrUnknownCommand, c.Name)
}
