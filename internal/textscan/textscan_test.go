package textscan

import (
	"net/netip"
	"strings"
	"testing"
)

// signatureRules are the rules internal/signature uses; the zero Rules are
// internal/redact's.
var signatureRules = Rules{NonASCIIWord: true, SingleCase: true}

// A case is a text in which '‹' marks where the scan starts and '›' where
// the address found must end; without '›' no address may be found. The
// markers are removed before scanning.
func runCases(t *testing.T, kind string, r Rules, cases []string) {
	t.Helper()
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			at := strings.Index(c, "‹")
			s := strings.Replace(c, "‹", "", 1)
			want := strings.Index(s, "›")
			s = strings.Replace(s, "›", "", 1)
			if at < 0 {
				t.Fatalf("case %q has no ‹", c)
			}
			end := r.IPv6End
			if kind == "v4" {
				end = r.IPv4End
			}
			if got := end(s, at); got != want {
				t.Errorf("%+v.IP%sEnd(%q, %d) = %d, want %d", r, kind, s, at, got, want)
			}
		})
	}
}

func TestIPv4End(t *testing.T) {
	both := []string{
		"‹10.0.0.1›",
		"from ‹172.16.4.188› via",
		"‹10.0.0.1›:8080",
		"blocked ‹10.0.0.1›.", // end of a sentence
		"‹1.2.3.4›.x",
		"‹1.2.3.4›-x",
		"‹255.255.255.255›",
		"‹01.02.03.004›", // leading zeros occur in logs
		"‹1.2.3.256",
		"‹1.2.3.456",
		"‹1234.1.1.1",
		"‹1.1.1.1000",
		"‹1.2.3",
		"MediaWiki ‹1.47.0 on", // a version is not an address
		"‹1.47.0-wmf.16",
		"‹1.2.3.4.5", // nor is a longer dotted number
		"‹1..2.3.4",
		"‹1.2.3.4a", // nor a word that starts like one
		"‹1.2.3.4_x",
		"‹x1.2.3.4",
		"‹",
	}
	runCases(t, "v4", Rules{}, append(both, "‹1.2.3.4›é"))
	runCases(t, "v4", signatureRules, append(both, "‹1.2.3.4é"))
}

func TestIPv6End(t *testing.T) {
	both := []string{
		"‹::1›",
		"from ‹::1› ok",
		"client ‹2001:db8::1› said",
		"‹fe80::›",
		"‹2001:0db8:85a3:0000:0000:8a2e:0370:7334› x",
		"‹fe80::1%eth0› down", // a zone is part of the address
		"‹fe80::1%br-ex.100›,",
		"‹fe80::1›% of", // a '%' alone is not
		"‹fe80::1›%.x",
		"‹::ffff:192.0.2.1› in", // IPv4-mapped
		"‹1:2:3:4:5:6:1.2.3.4›",
		"‹1:2:3:4:5:6:7:1.2.3.4", // the IPv4 part must fit in the last two groups
		"‹::ffff:1.2.3.256",
		"‹::ffff:1.2.3.4.5",
		"[‹2620:0:861::1›]:443",
		"‹2001:DB8::A1›",
		"‹::1›:x",
		"‹2001:db8::1x", // must not run into a word
		"‹2001:db8::1g",
		"‹2001:db8::1_",
		"‹2001:db8::1.",
		"‹1:2:3:4:5:6:7:8:9", // too many groups
		"‹1:2:3:4:5:6:7::8",
		"‹1:2:3:4:5:6:7", // too few without "::"
		"‹1::2::3",
		"‹12345::1",
		"‹:: x",
		"‹Class::method", // PHP, not an address
		"Class‹::method",
		"‹Face::add and dead::beef", // no digit: hex words
		"‹12:34:56",                 // a clock time
		"‹",
	}
	runCases(t, "v6", Rules{}, append(both, "‹Db::Ab12›", "‹::1›é"))
	runCases(t, "v6", signatureRules, append(both, "‹Db::Ab12", "‹::1é"))
}

// The package-level functions are the zero Rules.
func TestDefaultRules(t *testing.T) {
	for _, s := range []string{"1.2.3.4é", "Db::Ab12", "::1é", "fe80::1%eth0"} {
		if a, b := IPv4End(s, 0), (Rules{}).IPv4End(s, 0); a != b {
			t.Errorf("IPv4End(%q) = %d, Rules{} gives %d", s, a, b)
		}
		if a, b := IPv6End(s, 0), (Rules{}).IPv6End(s, 0); a != b {
			t.Errorf("IPv6End(%q) = %d, Rules{} gives %d", s, a, b)
		}
	}
}

// FuzzEnds checks the contract on any input: the result is -1 or an offset
// after i within s, and what is found is an address net/netip agrees with
// (netip refuses leading zeros in IPv4 octets, which log text does have).
func FuzzEnds(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "::ffff:1.2.3.4", "fe80::1%eth0", "[2620:0:861::1]:443", "1.47.0", "Class::method", "1:2:3:4:5:6:7:8"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, s string, i int) {
		if i < 0 || i > len(s) {
			return
		}
		for _, r := range []Rules{{}, signatureRules} {
			for kind, end := range map[string]func(string, int) int{"v4": r.IPv4End, "v6": r.IPv6End} {
				e := end(s, i)
				if e == -1 {
					continue
				}
				if e <= i || e > len(s) {
					t.Fatalf("%+v.IP%sEnd(%q, %d) = %d, out of range", r, kind, s, i, e)
				}
				if addr := s[i:e]; !leadingZeroOctet(addr) {
					if _, err := netip.ParseAddr(addr); err != nil {
						t.Fatalf("%+v.IP%sEnd(%q, %d) found %q: %v", r, kind, s, i, addr, err)
					}
				}
			}
		}
	})
}

func leadingZeroOctet(addr string) bool {
	if k := strings.LastIndexByte(addr, ':'); k >= 0 {
		addr = addr[k+1:]
	}
	for _, p := range strings.Split(addr, ".") {
		if len(p) > 1 && p[0] == '0' {
			return true
		}
	}
	return false
}
