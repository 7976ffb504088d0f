package collect

import (
	"reflect"
	"testing"
	"time"
)

func TestRobotsAllowed(t *testing.T) {
	cases := []struct {
		name, robots, agent, path string
		want                      bool
	}{
		{"no rules", "", "adapt", "/a", true},
		{"disallow prefix", "User-agent: *\nDisallow: /private", "adapt", "/private/x", false},
		{"disallow other prefix", "User-agent: *\nDisallow: /private", "adapt", "/public", true},
		{"empty disallow allows", "User-agent: *\nDisallow:", "adapt", "/x", true},
		{"disallow all", "User-agent: *\nDisallow: /", "adapt", "/x", false},
		{"robots.txt always allowed", "User-agent: *\nDisallow: /", "adapt", "/robots.txt", true},
		{"longest match allow", "User-agent: *\nDisallow: /a\nAllow: /a/b", "adapt", "/a/b/c", true},
		{"longest match disallow", "User-agent: *\nAllow: /a\nDisallow: /a/b", "adapt", "/a/b/c", false},
		{"tie goes to allow", "User-agent: *\nDisallow: /a\nAllow: /a", "adapt", "/a", true},
		{"wildcard middle", "User-agent: *\nDisallow: /*.pdf", "adapt", "/docs/x.pdf", false},
		{"wildcard no match", "User-agent: *\nDisallow: /*.pdf", "adapt", "/docs/x.html", true},
		{"end anchor match", "User-agent: *\nDisallow: /*.php$", "adapt", "/index.php", false},
		{"end anchor query", "User-agent: *\nDisallow: /*.php$", "adapt", "/index.php?x=1", true},
		{"end anchor exact root", "User-agent: *\nDisallow: /$\nAllow: /", "adapt", "/", false},
		{"end anchor root subpage", "User-agent: *\nDisallow: /$", "adapt", "/page", true},
		{"query matched", "User-agent: *\nDisallow: /*?session=", "adapt", "/a?session=1", false},
		{"case sensitive path", "User-agent: *\nDisallow: /Private", "adapt", "/private", true},
		{"own group wins over star", "User-agent: *\nDisallow: /\n\nUser-agent: adapt\nDisallow: /x", "adapt", "/y", true},
		{"own group case insensitive", "User-agent: ADAPT/2.0\nDisallow: /y", "adapt", "/y", false},
		{"other agent ignored", "User-agent: otherbot\nDisallow: /", "adapt", "/y", true},
		{"grouped agents", "User-agent: otherbot\nUser-agent: adapt\nDisallow: /g", "adapt", "/g", false},
		{"groups merged", "User-agent: adapt\nDisallow: /a\n\nUser-agent: adapt\nDisallow: /b", "adapt", "/b", false},
		{"rule before agent ignored", "Disallow: /\nUser-agent: *\nAllow: /", "adapt", "/x", true},
		{"comments and spaces", "  User-Agent : *   # all\n  Disallow : /c # no\n", "adapt", "/c/d", false},
		{"percent encoded pattern", "User-agent: *\nDisallow: /%c3%a9t%C3%A9", "adapt", "/%C3%A9t%C3%A9/x", false},
		{"utf8 pattern against escaped path", "User-agent: *\nDisallow: /été", "adapt", "/%C3%A9t%C3%A9", false},
		{"crlf lines", "User-agent: *\r\nDisallow: /w\r\n", "adapt", "/w", false},
		{"byte order mark", "\xef\xbb\xbfUser-agent: *\nDisallow: /bom", "adapt", "/bom", false},
		{"double star", "User-agent: *\nDisallow: /**/z", "adapt", "/a/b/z", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := parseRobots([]byte(tc.robots)).policy(tc.agent)
			if got := p.allowed(tc.path); got != tc.want {
				t.Errorf("allowed(%q) with %q: got %v, want %v", tc.path, tc.robots, got, tc.want)
			}
		})
	}
}

func TestRobotsCrawlDelayAndSitemaps(t *testing.T) {
	robots := "Sitemap: http://127.0.0.1/s1.xml\nUser-agent: *\nCrawl-delay: 1.5\nDisallow: /x\n\n" +
		"User-agent: adapt\nCrawl-delay: 4\n\nsitemap: http://127.0.0.1/s2.xml\n"
	f := parseRobots([]byte(robots))
	if got, want := f.sitemaps, []string{"http://127.0.0.1/s1.xml", "http://127.0.0.1/s2.xml"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sitemaps: got %q, want %q", got, want)
	}
	cases := []struct {
		agent string
		want  time.Duration
	}{
		{"adapt", 4 * time.Second},
		{"otherbot", 1500 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.agent, func(t *testing.T) {
			if got := f.policy(tc.agent).crawlDelay; got != tc.want {
				t.Errorf("crawl delay for %s: got %v, want %v", tc.agent, got, tc.want)
			}
		})
	}
}

func TestAgentToken(t *testing.T) {
	cases := map[string]string{
		"adapt/1.0 (+contact)": "adapt",
		"Mozilla/5.0":          "Mozilla",
		"*":                    "*",
		"my_bot-2":             "my_bot-",
		"":                     "",
	}
	for in, want := range cases {
		if got := agentToken(in); got != want {
			t.Errorf("agentToken(%q): got %q, want %q", in, got, want)
		}
	}
}

func FuzzParseRobots(f *testing.F) {
	f.Add([]byte("User-agent: *\nDisallow: /a*b$\nAllow: /a\nCrawl-delay: 2\nSitemap: http://127.0.0.1/s.xml"), "/a/xb")
	f.Add([]byte("user-agent:adapt\ndisallow:/%zz\n#c"), "/%zz")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		file := parseRobots(data)
		p := file.policy("adapt")
		if p.crawlDelay < 0 {
			t.Errorf("negative crawl delay %v", p.crawlDelay)
		}
		for _, r := range p.rules {
			if r.pattern == "" {
				t.Error("empty rule pattern")
			}
		}
		if len(path) > 1000 {
			path = path[:1000]
		}
		p.allowed(path)
		if !p.allowed("/robots.txt") {
			t.Error("/robots.txt disallowed")
		}
	})
}
