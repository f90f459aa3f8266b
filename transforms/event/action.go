package event

// Action is what a user did. The zero value is not a valid action.
type Action uint8

// The actions of the event contract, in a stable order: Action values index
// per-action arrays, so new actions are only ever appended.
const (
	View Action = iota + 1
	Click
	Like
	Comment
	Share
	Favorite
	Cart
	Purchase
	Payment
)

// NumActions is one more than the largest Action, for arrays indexed by Action.
const NumActions = int(Payment) + 1

var actionNames = [NumActions]string{"", "view", "click", "like", "comment", "share", "favorite", "cart", "purchase", "payment"}

// Actions lists every valid action in order.
var Actions = []Action{View, Click, Like, Comment, Share, Favorite, Cart, Purchase, Payment}

// String returns the contract's name for a, or "" for an invalid action.
func (a Action) String() string {
	if int(a) < NumActions {
		return actionNames[a]
	}
	return ""
}

// Valid reports whether a is one of the contract's actions.
func (a Action) Valid() bool { return a >= View && a <= Payment }

// ParseAction returns the Action named s (exact, lower case) and whether it
// is known.
func ParseAction(s string) (Action, bool) {
	// A switch compiles to a few comparisons and does not allocate.
	switch s {
	case "view":
		return View, true
	case "click":
		return Click, true
	case "like":
		return Like, true
	case "comment":
		return Comment, true
	case "share":
		return Share, true
	case "favorite":
		return Favorite, true
	case "cart":
		return Cart, true
	case "purchase":
		return Purchase, true
	case "payment":
		return Payment, true
	}
	return 0, false
}
