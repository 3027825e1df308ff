package testregistry

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PageReferrers returns an Options.Wrap that splits the referrers API answer
// of the wrapped (real) registry into pages of pageSize descriptors, linked
// by `Link: <...>; rel="next"` headers as the OCI distribution spec
// describes. A client's `n` query parameter, when smaller, wins. Other
// requests pass through unchanged.
func PageReferrers(pageSize int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/referrers/") {
				next.ServeHTTP(w, r)
				return
			}
			q := r.URL.Query()
			page, _ := strconv.Atoi(q.Get("page"))
			size := pageSize
			if n, err := strconv.Atoi(q.Get("n")); err == nil && n > 0 && n < size {
				size = n
			}
			inner := r.Clone(r.Context())
			iq := url.Values{}
			if at := q.Get("artifactType"); at != "" {
				iq.Set("artifactType", at)
			}
			inner.URL.RawQuery = iq.Encode()
			inner.RequestURI = ""
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, inner)
			var idx ocispec.Index
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &idx) != nil {
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
				return
			}
			// The registry may answer in any order (go-containerregistry
			// walks a map): sort so that pages are stable.
			all := idx.Manifests
			sort.Slice(all, func(i, j int) bool { return all[i].Digest < all[j].Digest })
			start, end := min(page*size, len(all)), min((page+1)*size, len(all))
			idx.Manifests = append([]ocispec.Descriptor{}, all[start:end]...)
			body, _ := json.Marshal(idx)
			if end < len(all) {
				nq := r.URL.Query()
				nq.Set("page", strconv.Itoa(page+1))
				w.Header().Set("Link", "<"+r.URL.Path+"?"+nq.Encode()+`>; rel="next"`)
			}
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
		})
	}
}
