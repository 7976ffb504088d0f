package pii

import (
	"reflect"
	"strings"
	"testing"
)

// findCase is one Find table case: the matches wanted, as "TYPE:text".
type findCase struct {
	name string
	text string
	want []string
}

func runFindCases(t *testing.T, cases []findCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := spans(tc.text, Find(tc.text))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Find(%q)\n got  %q\n want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestFindCards(t *testing.T) {
	runFindCases(t, []findCase{
		{"Visa with spaces", "Card: 4111 1111 1111 1111, exp 12/29", []string{"CARD:4111 1111 1111 1111"}},
		{"Visa with hyphens", "paid with 4111-1111-1111-1111.", []string{"CARD:4111-1111-1111-1111"}},
		{"Visa bare run", "pan=4111111111111111 ", nil},
		{"Visa bare run in prose", "card number 4111111111111111 was declined", []string{"CARD:4111111111111111"}},
		{"Visa 13 digits", "old card 4222222222222", []string{"CARD:4222222222222"}},
		{"Mastercard", "MC 5555 5555 5555 4444", []string{"CARD:5555 5555 5555 4444"}},
		{"Mastercard 2-series", "2223 0000 4840 0011", []string{"CARD:2223 0000 4840 0011"}},
		{"Amex 4-6-5", "Amex 3782 822463 10005 ok", []string{"CARD:3782 822463 10005"}},
		{"Discover", "6011 1111 1111 1117", []string{"CARD:6011 1111 1111 1117"}},
		{"JCB", "JCB 3530111333300000", []string{"CARD:3530111333300000"}},
		{"Diners 4-6-4", "Diners 3056 930902 5904", []string{"CARD:3056 930902 5904"}},
		{"UnionPay in Chinese text", "银行卡号6200000000000005，请核对", []string{"CARD:6200000000000005"}},
		{"card followed by a count", "4111 1111 1111 1111 2 cards", []string{"CARD:4111 1111 1111 1111"}},
	})
}

func TestFindCardsNegatives(t *testing.T) {
	runFindCases(t, []findCase{
		{"Luhn failure", "card 4111 1111 1111 1112", nil},
		{"unknown IIN with valid Luhn", "1234 5678 1234 5670", nil},
		{"Visa length 15", "card 411111111111116", nil},
		{"order number", "order 4111111111111111 shipped", nil},
		{"invoice hash", "invoice #4111111111111111", nil},
		{"Chinese order number", "订单号：4111111111111111", nil},
		{"inside longer run", "41111111111111110000", nil},
		{"USPS tracking number", "tracking 9400 1000 0000 0000 0000 00", nil},
		{"prefix of a longer 4-grouped number", "4111 1111 1111 1111 0000 12", nil},
		{"mixed separators", "4111 1111-1111 1111", nil},
		{"glued to letters", "x4111111111111111y", nil},
		{"inside a hash", "sha1 a4111111111111111f0c2e", nil},
		{"all-digit UUID", "41111111-1111-1111-1111-111111111111", nil},
		{"ISBN-13", "ISBN 978-0-306-40615-7", nil},
		{"table of years", "2004 2005 2006 2007 2008", nil},
	})
}

func TestFindIBANs(t *testing.T) {
	runFindCases(t, []findCase{
		{"UK paper form", "IBAN: GB82 WEST 1234 5698 7654 32.", []string{"IBAN:GB82 WEST 1234 5698 7654 32"}},
		{"UK electronic form", "to GB82WEST12345698765432 today", []string{"IBAN:GB82WEST12345698765432"}},
		{"Germany", "DE89 3704 0044 0532 0130 00", []string{"IBAN:DE89 3704 0044 0532 0130 00"}},
		{"France with letters", "FR14 2004 1010 0505 0001 3M02 606", []string{"IBAN:FR14 2004 1010 0505 0001 3M02 606"}},
		{"Netherlands", "NL91ABNA0417164300", []string{"IBAN:NL91ABNA0417164300"}},
		{"Norway shortest", "NO93 8601 1117 947", []string{"IBAN:NO93 8601 1117 947"}},
		{"in Chinese text", "账户GB82WEST12345698765432。", []string{"IBAN:GB82WEST12345698765432"}},
		{"Germany lower case grouped", "iban de89 3704 0044 0532 0130 00 ok", []string{"IBAN:de89 3704 0044 0532 0130 00"}},
		{"UK lower case", "gb82 west 1234 5698 7654 32", []string{"IBAN:gb82 west 1234 5698 7654 32"}},
		{"UK mixed case", "Gb82 West 1234 5698 7654 32", []string{"IBAN:Gb82 West 1234 5698 7654 32"}},
		{"Netherlands lower case electronic", "nl91abna0417164300", []string{"IBAN:nl91abna0417164300"}},
		{"France lower-case letter in BBAN", "FR14 2004 1010 0505 0001 3m02 606", []string{"IBAN:FR14 2004 1010 0505 0001 3m02 606"}},
	})
}

func TestFindIBANsNegatives(t *testing.T) {
	runFindCases(t, []findCase{
		{"wrong check digits", "GB83 WEST 1234 5698 7654 32", nil},
		{"wrong length for country", "GB82 WEST 1234 5698 7654 3", nil},
		{"too long", "GB82WEST123456987654321", nil},
		{"unknown country", "ZZ82WEST12345698765432", nil},
		{"lower case wrong check digits", "gb83 west 1234 5698 7654 32", nil},
		{"lower case glued to a word", "xgb82west12345698765432", nil},
		{"lower case unknown country", "zz82west12345698765432", nil},
		{"glued to a word", "XGB82WEST12345698765432", nil},
		{"spaces not after four", "GB82 WES T1234 5698 7654 32", nil},
		{"part number", "part DE12 and model AB12 3456", nil},
	})
}

func TestFindSSNs(t *testing.T) {
	runFindCases(t, []findCase{
		{"dashed", "employee 123-45-6789 joined", []string{"SSN:123-45-6789"}},
		{"dashed after cue", "SSN: 078-05-1120", []string{"SSN:078-05-1120"}},
		{"spaced after cue", "social security number 123 45 6789", []string{"SSN:123 45 6789"}},
		{"bare after cue and hash", "SSN # 123456789 on file", []string{"SSN:123456789"}},
		{"SSN number", "SSN number 123-45-6789", []string{"SSN:123-45-6789"}},
		{"bare after cue upper case", "Social Security: 219099999", []string{"SSN:219099999"}},
	})
}

func TestFindSSNsNegatives(t *testing.T) {
	runFindCases(t, []findCase{
		{"area 000", "SSN 000-45-6789", nil},
		{"area 666", "SSN 666-45-6789", nil},
		{"area 900 and above", "SSN 912-45-6789", nil},
		{"group 00", "SSN 123-00-6789", nil},
		{"serial 0000", "SSN 123-45-0000", nil},
		{"bare without cue", "shipment 123456789 arrived", nil},
		{"spaced without cue", "values 123 45 6789", nil},
		{"reference number", "ref 123-45-6789", nil},
		{"inside longer sequence", "SSN 123-45-6789-1234-5", nil},
		{"ZIP plus four", "Boston, MA 02110-1301", nil},
		{"part number glued", "PN-123-45-6789", nil},
	})
}

func TestFindIPs(t *testing.T) {
	runFindCases(t, []findCase{
		{"IPv4", "login from 203.0.113.7 at noon", []string{"IP:203.0.113.7"}},
		{"IPv4 with port", "connect 198.51.100.23:8080 now", []string{"IP:198.51.100.23"}},
		{"IPv4 with prefix length", "block 81.2.69.0/24", []string{"IP:81.2.69.0"}},
		{"IPv4 at sentence end", "The server was 93.184.216.34.", []string{"IP:93.184.216.34"}},
		{"IPv6 full", "2001:0db8:85a3:0000:0000:8a2e:0370:7334 responded", []string{"IP:2001:0db8:85a3:0000:0000:8a2e:0370:7334"}},
		{"IPv6 compressed", "client 2001:db8::1 connected", []string{"IP:2001:db8::1"}},
		{"IPv6 in brackets with port", "http://[2606:4700::6810:85e5]:443/", []string{"IP:2606:4700::6810:85e5"}},
		{"IPv6 before colon", "address 2a00:1450:4001:82b::200e: reachable", []string{"IP:2a00:1450:4001:82b::200e"}},
		{"IPv4-mapped IPv6", "peer ::ffff:203.0.113.9 closed", []string{"IP:::ffff:203.0.113.9"}},
	})
}

func TestFindIPsNegatives(t *testing.T) {
	runFindCases(t, []findCase{
		{"private IPv4", "listen on 192.168.100.200 port 8080", nil},
		{"loopback", "bind 127.0.0.1 and ::1", nil},
		{"shared address space", "CGNAT 100.64.1.2", nil},
		{"netmask", "netmask 255.255.255.0", nil},
		{"unspecified", "0.0.0.0 and ::", nil},
		{"link-local IPv6", "fe80::1ff:fe23:4567:890a%eth0", nil},
		{"unique local IPv6", "fd12:3456:789a::1", nil},
		{"version word", "version 2.14.3.1 released", nil},
		{"v prefix", "linux v6.1.0.37", nil},
		{"single-digit outline number", "see 1.2.3.4 below", nil},
		{"section number", "Section 12.3.4.5 applies", nil},
		{"five parts", "OID 1.3.6.1.4.1", nil},
		{"leading zeros", "addr 203.000.113.007", nil},
		{"octet too large", "addr 203.0.113.256", nil},
		{"glued version", "libfoo-12.3.4.5", nil},
		{"time of day", "at 12:30:45 UTC", nil},
		{"C++ scope", "std::vector and Abc::Def", nil},
		{"MAC address", "ether 00:1a:2b:3c:4d:5e", nil},
	})
}

func TestFindURLCredentials(t *testing.T) {
	runFindCases(t, []findCase{
		{"https", "clone https://bob:s3cret@example.com/repo.git", []string{"URL_CREDENTIALS:bob:s3cret"}},
		{"empty user with token", "https://:ghp_abc123@github.com/x", []string{"URL_CREDENTIALS::ghp_abc123"}},
		{"database URL", "DATABASE_URL=postgres://app:pa%40ss@db.example.org:5432/prod", []string{"URL_CREDENTIALS:app:pa%40ss"}},
	})
}

func TestFindURLCredentialsNegatives(t *testing.T) {
	runFindCases(t, []findCase{
		{"user without password", "ssh://git@host.example.com/repo", []string{"EMAIL:git@host.example.com"}},
		{"plain URL", "https://example.com:8443/path?a=b", nil},
		{"empty password", "https://bob:@example.com", nil},
		{"CVS access method", "cvs://:pserver:anoncvs@sources.example.com:/cvs", []string{"EMAIL:anoncvs@sources.example.com"}},
	})
}

func TestFindDOBs(t *testing.T) {
	runFindCases(t, []findCase{
		{"born on day month year", "She was born on 12 March 1980 in Leeds.", []string{"DOB:12 March 1980"}},
		{"DOB ISO", "DOB: 1980-03-12", []string{"DOB:1980-03-12"}},
		{"date of birth US", "date of birth 03/12/1980", []string{"DOB:03/12/1980"}},
		{"date of birth European day first", "Date of birth: 31.12.1975", []string{"DOB:31.12.1975"}},
		{"month day year", "Born: March 12th, 1980", []string{"DOB:March 12th, 1980"}},
		{"abbreviated month", "born Sept. 3, 1961", []string{"DOB:Sept. 3, 1961"}},
		{"ordinal of month", "born on the 3rd of May, 1990", []string{"DOB:3rd of May, 1990"}},
		{"two-digit year", "D.O.B. 04/07/62", []string{"DOB:04/07/62"}},
		{"compact", "birthdate 19800312", []string{"DOB:19800312"}},
		{"Chinese", "出生日期：1980年3月12日", []string{"DOB:1980年3月12日"}},
		{"Chinese with spaces", "生日 1992 年 11 月 5 号", []string{"DOB:1992 年 11 月 5 号"}},
	})
}

func TestFindDOBsNegatives(t *testing.T) {
	runFindCases(t, []findCase{
		{"date without context", "The hearing was held on 12 March 1980.", nil},
		{"ISO date without context", "released 1980-03-12", nil},
		{"birth year only", "born in 1980 in Ohio", nil},
		{"invalid day", "DOB: 1980-02-30", nil},
		{"invalid month", "date of birth 13/13/1980", nil},
		{"cue too far away", "born in a small town on the river, where on 12 March 1980 a flood", nil},
		{"cue inside a word", "reborn 12 March 1980", nil},
		{"copyright year", "Copyright (C) 1991 born-again software", nil},
		{"Chinese date without cue", "会议于1980年3月12日举行", nil},
	})
}

func TestFindCNIDs(t *testing.T) {
	runFindCases(t, []findCase{
		{"check character X", "身份证号：11010519491231002X", []string{"CN_ID:11010519491231002X"}},
		{"lower-case x", "ID 11010519491231002x.", []string{"CN_ID:11010519491231002x"}},
		{"digit check", "公民身份号码110101199003074514，性别男", []string{"CN_ID:110101199003074514"}},
		{"leap day", "320102199202290012", []string{"CN_ID:320102199202290012"}},
		{"spaced 6-8-4", "440306 19850612 1233", []string{"CN_ID:440306 19850612 1233"}},
	})
}

func TestFindCNIDsNegatives(t *testing.T) {
	runFindCases(t, []findCase{
		{"wrong check digit", "110101199003074515", nil},
		{"region digit 9", "910101199003074514", nil},
		{"invalid birth date", "110101199002304514", nil},
		{"birth before 1900", "440524188001010014", nil},
		{"glued to ASCII letters", "a110101199003074514", nil},
		{"nineteen digits", "1101011990030745140", nil},
	})
}

func TestFindChineseMobiles(t *testing.T) {
	runFindCases(t, []findCase{
		{"bare", "手机13812345678", []string{"PHONE:13812345678"}},
		{"3-4-4 spaces", "电话：138 1234 5678。", []string{"PHONE:138 1234 5678"}},
		{"3-4-4 hyphens", "call 159-0000-1234", []string{"PHONE:159-0000-1234"}},
		{"plus 86 spaced", "+86 139 1234 5678", []string{"PHONE:+86 139 1234 5678"}},
		{"plus 86 glued", "+8613912345678", []string{"PHONE:+8613912345678"}},
		{"0086", "0086 18612345678", []string{"PHONE:0086 18612345678"}},
	})
}

func TestFindChineseMobilesNegatives(t *testing.T) {
	runFindCases(t, []findCase{
		{"second digit 2", "手机12812345678", nil},
		{"ten digits", "1381234567", nil},
		{"inside identity card number", "11010519491231002X", []string{"CN_ID:11010519491231002X"}},
		{"inside a longer run", "213812345678", nil},
		{"order number", "订单号13812345678", nil},
		{"English order number", "order 13812345678", nil},
	})
}

func TestFindOverlapsAcrossTypes(t *testing.T) {
	runFindCases(t, []findCase{
		{"identity card contains a mobile", "110101199013812345 身份证 11010519491231002X", []string{"CN_ID:11010519491231002X"}},
		{"URL credentials over e-mail", "https://bob:pw@example.com", []string{"URL_CREDENTIALS:bob:pw"}},
		{"card digits inside e-mail", "4111111111111111@example.com", []string{"EMAIL:4111111111111111@example.com"}},
		{"identity card after birth cue", "出生日期 19491231 身份证11010519491231002X",
			[]string{"DOB:19491231", "CN_ID:11010519491231002X"}},
		{"dashed SSN is not a phone", "Phone 617-253-1000, SSN 123-45-6789",
			[]string{"PHONE:617-253-1000", "SSN:123-45-6789"}},
	})
}

func TestFindDigitsInIdentifiers(t *testing.T) {
	runFindCases(t, []findCase{
		{"UUID", "request 550e8400-e29b-41d4-a716-446655440000 failed", nil},
		{"all-digit UUID", "12345678-1234-1234-1234-123456789012", nil},
		{"SHA-256", "sha256:4111111111111111a0e3b1c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", nil},
		{"git commit", "commit 4111111111111111abc123456789012345678901", nil},
		{"FedEx tracking", "FedEx tracking 7489 2345 6789 0123", nil},
		{"UPS tracking", "1Z999AA10123456784", nil},
		{"Debian version", "Version: 1:2.38.1-5+deb12u1", nil},
		{"Debian copyright line", "Copyright: 1994-2004 Debian Association, Inc. 2005, 2006, 2007 Joey Hess", nil},
		{"Go module version", "github.com/x/y v1.22.3", nil},
		{"copyright years", "Copyright (c) 1998, 1999, 2000, 2001, 2002, 2003", nil},
		{"ISBN-10", "ISBN 0-306-40615-2", nil},
		{"date without context", "Filed 2023-11-14, effective 11/14/2023", nil},
	})
}

func TestFindMixedEnglishChinese(t *testing.T) {
	text := "客户 Jane Doe (jane@example.com)，出生日期：1980年3月12日，手机 138 1234 5678，" +
		"身份证号 11010519491231002X。Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, " +
		"last login 203.0.113.7。订单号 4111111111111111。"
	want := []string{
		"EMAIL:jane@example.com", "DOB:1980年3月12日", "PHONE:138 1234 5678",
		"CN_ID:11010519491231002X", "CARD:4111 1111 1111 1111", "IBAN:GB82 WEST 1234 5698 7654 32",
		"IP:203.0.113.7",
	}
	got := spans(text, Find(text))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Find\n got  %q\n want %q", got, want)
	}

	out, counts := Redact(text)
	for _, s := range []string{"jane@", "1980年", "138 1234", "11010519491231002X", "4111 1111", "GB82", "203.0.113.7"} {
		if strings.Contains(out, s) {
			t.Errorf("Redact output %q still contains %q", out, s)
		}
	}
	if !strings.Contains(out, "订单号 4111111111111111") {
		t.Errorf("Redact output %q lost the order number", out)
	}
	wantCounts := map[string]int64{"EMAIL": 1, "DOB": 1, "PHONE": 1, "CN_ID": 1, "CARD": 1, "IBAN": 1, "IP": 1}
	if !reflect.DeepEqual(counts, wantCounts) {
		t.Errorf("Redact counts = %v, want %v", counts, wantCounts)
	}
}

func TestRedactNewTypes(t *testing.T) {
	cases := []struct {
		name string
		text string
		want string
	}{
		{"URL keeps scheme and host", "git clone https://bob:s3cret@example.com/r.git",
			"git clone https://<URL_CREDENTIALS>@example.com/r.git"},
		{"date of birth keeps cue", "born on 12 March 1980 in Leeds", "born on <DOB> in Leeds"},
		{"card and SSN", "card 4111-1111-1111-1111 SSN 123-45-6789", "card <CARD> SSN <SSN>"},
		{"IPv6", "from 2001:db8::1.", "from <IP>."},
		{"Chinese", "身份证11010519491231002X，手机13812345678", "身份证<CN_ID>，手机<PHONE>"},
		{"lower-case grouped IBAN", "pay to de89 3704 0044 0532 0130 00.", "pay to <IBAN>."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := Redact(tc.text)
			if got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestIBANChecksum(t *testing.T) {
	cases := []struct {
		iban string
		want bool
	}{
		{"GB82WEST12345698765432", true},
		{"DE89370400440532013000", true},
		{"CH9300762011623852957", true},
		{"BE68539007547034", true},
		{"GB82WEST12345698765433", false},
		{"DE88370400440532013000", false},
	}
	for _, tc := range cases {
		t.Run(tc.iban, func(t *testing.T) {
			if got := ibanChecksumValid([]byte(tc.iban)); got != tc.want {
				t.Errorf("ibanChecksumValid(%s) = %v, want %v", tc.iban, got, tc.want)
			}
		})
	}
}

func TestCNIDCheckChar(t *testing.T) {
	cases := []struct{ first17, want string }{
		{"11010519491231002", "X"},
		{"11010119900307451", "4"},
		{"44030619850612123", "3"},
		{"31011520001231008", "1"},
	}
	for _, tc := range cases {
		t.Run(tc.first17, func(t *testing.T) {
			if got := string(cnIDCheckChar([]byte(tc.first17))); got != tc.want {
				t.Errorf("cnIDCheckChar(%s) = %s, want %s", tc.first17, got, tc.want)
			}
		})
	}
}
