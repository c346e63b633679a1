package drift

import (
	"testing"

	"github.com/wikimedia/sheriff/rules"
)

func defaultRules(t *testing.T) *rules.DriftRules {
	t.Helper()
	rs, err := rules.DefaultDrift()
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// Fixtures of the source packages, in the real formats.
const (
	puppetFixture = "../hiera/testdata/puppet"
	chartsFixture = "../helm/testdata/charts"
)
