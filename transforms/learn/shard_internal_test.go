package learn

import "testing"

func TestShardKeyAndBoundary(t *testing.T) {
	for _, tc := range []struct{ end, every, want int64 }{
		{60000, 60000, 60000},  // a batch ending on the boundary belongs to it
		{30000, 60000, 60000},  // an earlier batch of the interval
		{90000, 60000, 120000}, // the next interval
		{-30000, 60000, 0},     // before 1970
	} {
		if got := boundaryOf(tc.end, tc.every); got != tc.want {
			t.Errorf("boundaryOf(%d, %d) = %d, want %d", tc.end, tc.every, got, tc.want)
		}
	}
	k := ShardKey("m:v", "global", 3)
	mk, shard, err := splitShardKey(k)
	if err != nil || mk != Key("m:v", "global") || shard != 3 {
		t.Errorf("splitShardKey(%q) = %q, %d, %v", k, mk, shard, err)
	}
	if _, _, err := splitShardKey("nokey"); err == nil {
		t.Error("splitShardKey of a plain string succeeded")
	}
	counts := make([]int, 4)
	for i := range 4000 {
		counts[ShardOf("e"+string(rune('a'+i%26))+string(rune(i)), 4)]++
	}
	for s, c := range counts {
		if c < 800 {
			t.Errorf("shard %d got %d of 4000 event ids, want a fair share", s, c)
		}
	}
}
