package msgfmt

import "strings"

// emoticons maps Skype emoticon IDs (the type of <ss type="...">, the itemid
// of a Teams Emoji image, and the keys of Teams' quick reactions) to the
// Unicode emoji closest to their picture.
var emoticons = map[string]string{
	"smile": "🙂", "sad": "😢", "laugh": "😆", "cool": "😎", "surprised": "😮", "wink": "😉",
	"cry": "😭", "sweat": "😅", "speechless": "😐", "kiss": "😗", "tongueout": "😛", "blush": "😊",
	"wonder": "🤔", "think": "🤔", "sleepy": "😪", "dull": "😑", "inlove": "😍", "evilgrin": "😈",
	"yawn": "🥱", "puke": "🤮", "doh": "🤦", "facepalm": "🤦", "angry": "😠", "wasntme": "🙄",
	"party": "🥳", "worry": "😟", "mmm": "😋", "nerd": "🤓", "nerdy": "🤓", "lipssealed": "🤐",
	"hi": "👋", "wave": "👋", "call": "📞", "devil": "😈", "angel": "😇", "envy": "😒",
	"wait": "✋", "hug": "🤗", "bear": "🤗", "makeup": "💄", "giggle": "🤭", "clap": "👏",
	"bow": "🙇", "rofl": "🤣", "lol": "😂", "joy": "😂", "whew": "😌", "relieved": "😌",
	"happy": "😊", "smirk": "😏", "yes": "👍", "like": "👍", "no": "👎", "dislike": "👎",
	"handshake": "🤝", "heart": "❤️", "brokenheart": "💔", "mail": "✉️", "flower": "🌸",
	"rain": "🌧️", "sun": "☀️", "time": "⏰", "music": "🎵", "movie": "🎬", "phone": "📱",
	"coffee": "☕", "pizza": "🍕", "cash": "💰", "muscle": "💪", "cake": "🎂", "beer": "🍺",
	"drink": "🍹", "dance": "💃", "ninja": "🥷", "star": "⭐", "fingerscrossed": "🤞",
	"highfive": "🙌", "poop": "💩", "skull": "💀", "ghost": "👻", "fire": "🔥", "victory": "✌️",
	"ok": "👌", "gift": "🎁", "sick": "🤒", "cat": "🐱", "dog": "🐶", "monkey": "🐒",
	"shock": "😱", "scared": "😨", "confused": "😕", "unamused": "😒", "grin": "😁",
	"tired": "😫", "hungover": "🤢", "sarcastic": "🙄", "rock": "🤘", "pray": "🙏",
	"thanks": "🙏", "wink2": "😉", "hearteyes": "😍", "stareyes": "🤩", "tada": "🎉",
	"celebrate": "🎉", "balloon": "🎈", "sunflower": "🌻", "rose": "🌹", "plane": "✈️",
	"car": "🚗", "computer": "💻", "bomb": "💣", "sheep": "🐑", "penguin": "🐧", "pig": "🐷",
	"snail": "🐌", "turtle": "🐢", "bike": "🚲", "football": "⚽", "games": "🎮", "book": "📖",
	"bulb": "💡", "idea": "💡", "explode": "🤯", "mindblown": "🤯", "zombie": "🧟",
	"unicorn": "🦄", "selfie": "🤳", "shrug": "🤷", "nod": "🙂", "headbang": "🤘",
}

// EmoticonUnicode returns the Unicode emoji for a Skype/Teams emoticon ID
// ("smile", "(smile)", "like"); ok is false for IDs it does not know.
func EmoticonUnicode(emoticonID string) (emoji string, ok bool) {
	key := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(emoticonID), "("), ")"))
	emoji, ok = emoticons[key]
	return emoji, ok
}
