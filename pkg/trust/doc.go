// Package trust decides whether an artifact is trusted: it reads the trust
// store and trust policy, and joins signatures found in a Source and policy into one verdict.
package trust
