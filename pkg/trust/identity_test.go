package trust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
)

func TestIdentityMatchesSubjectAttributes(t *testing.T) {
	leaf := &x509.Certificate{Subject: pkix.Name{Country: []string{"US"}, Province: []string{"WA"}, Organization: []string{"Acme"}, CommonName: "signer"}}
	leaf.Subject.Names = []pkix.AttributeTypeAndValue{
		{Type: []int{2, 5, 4, 6}, Value: "US"}, {Type: []int{2, 5, 4, 8}, Value: "WA"},
		{Type: []int{2, 5, 4, 10}, Value: "Acme"}, {Type: []int{2, 5, 4, 3}, Value: "signer"},
	}
	cases := []struct {
		id   string
		want bool
	}{
		{"x509.subject: C=US, ST=WA, O=Acme, CN=signer", true},
		{"x509.subject: C=US, ST=WA, O=Acme", true},
		{"x509.subject: CN=signer, O=Acme, ST=WA, C=US", true},
		{"x509.subject: C=US, ST=WA, O=Acme, CN=other", false},
		{"x509.subject: C=US, ST=WA, O=Acme Inc", false},
		{"x509.subject: C=US, ST=WA, O=Acme, OU=Eng", false},
	}
	for _, tc := range cases {
		id, err := parseIdentity(tc.id)
		if err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		if got := id.matches(leaf); got != tc.want {
			t.Errorf("%s matches = %v, want %v", tc.id, got, tc.want)
		}
	}
	// An ambiguous subject (an attribute twice) matches nothing.
	leaf.Subject.Names = append(leaf.Subject.Names, pkix.AttributeTypeAndValue{Type: []int{2, 5, 4, 10}, Value: "Evil"})
	id, _ := parseIdentity("x509.subject: C=US, ST=WA, O=Acme")
	if id.matches(leaf) {
		t.Fatal("a subject with two O attributes matched")
	}
}

func TestLevelsFollowTheNotaryProject(t *testing.T) {
	cases := []struct {
		level string
		check string
		want  string
	}{
		{LevelStrict, checkAuthenticity, actionEnforce},
		{LevelStrict, checkExpiry, actionEnforce},
		{LevelPermissive, checkAuthenticity, actionEnforce},
		{LevelPermissive, checkAuthenticTimestamp, actionLog},
		{LevelPermissive, checkExpiry, actionLog},
		{LevelAudit, checkIntegrity, actionEnforce},
		{LevelAudit, checkAuthenticity, actionLog},
		{LevelSkip, checkIntegrity, actionSkip},
	}
	for _, tc := range cases {
		if got := actions(tc.level, nil)[tc.check]; got != tc.want {
			t.Errorf("%s/%s = %s, want %s", tc.level, tc.check, got, tc.want)
		}
	}
	if got := actions(LevelPermissive, map[string]string{checkExpiry: actionEnforce})[checkExpiry]; got != actionEnforce {
		t.Errorf("override ignored: %s", got)
	}
	if got := actions(LevelAudit, map[string]string{checkIntegrity: actionSkip})[checkIntegrity]; got != actionEnforce {
		t.Errorf("integrity was overridden: %s", got)
	}
}
