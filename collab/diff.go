package collab

import "strings"

type splice struct {
	pos, del int // in code points
	ins      string
}

// maxDiffCells bounds the line-by-line comparison (lines of old times
// lines of new); past it the changed middle becomes one splice.
const maxDiffCells = 4 << 20

// diffSplices returns splices that turn old into new, to apply in order:
// the common start and end are kept, and in between the lines both have
// in common (a longest common subsequence) stay, so that an edit in one
// place of a long text does not rewrite the rest.
func diffSplices(old, new string) []splice {
	a, b := []rune(old), []rune(new)
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	am, bm := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if len(am) == 0 && len(bm) == 0 {
		return nil
	}
	la, lb := lines(string(am)), lines(string(bm))
	if len(la)*len(lb) > maxDiffCells || len(la) < 2 && len(lb) < 2 {
		return []splice{{pos: pre, del: len(am), ins: string(bm)}}
	}
	// LCS table from the end.
	n, m := len(la), len(lb)
	dp := make([][]int32, n+1)
	for i := range dp {
		dp[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if la[i] == lb[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	var out []splice
	pos := pre // position in the text as edited so far
	var cur *splice
	flush := func() {
		if cur != nil && (cur.del > 0 || cur.ins != "") {
			out = append(out, *cur)
			pos += len([]rune(cur.ins))
		}
		cur = nil
	}
	open := func() {
		if cur == nil {
			cur = &splice{pos: pos}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && la[i] == lb[j]:
			flush()
			pos += len([]rune(la[i]))
			i++
			j++
		case j < m && (i == n || dp[i][j+1] >= dp[i+1][j]):
			open()
			cur.ins += lb[j]
			j++
		default:
			open()
			cur.del += len([]rune(la[i]))
			i++
		}
	}
	flush()
	return out
}

// lines splits s after each newline (the pieces join back to s).
func lines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}
