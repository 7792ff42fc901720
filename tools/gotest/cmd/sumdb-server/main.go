// Command sumdb-server serves a local checksum database on loopback for
// goxy's tests, built on golang.org/x/mod/sumdb (Server, tlog, note) and
// signed with the test key of protocol.md §7.7 item 65.
//
// Usage:
//
//	sumdb-server [-listen 127.0.0.1:0] [-records FILE] [-key SIGNERKEY] [-mode MODE]
//
// It prints its base URL (http://127.0.0.1:PORT) as the first line of
// stdout, then serves the database endpoints /latest, /lookup/M@V and
// /tile/... until killed. Records come from a go.sum-style file (lines
// "module version h1:..." and "module version/go.mod h1:..."), grouped into
// one log record per module version in order of first appearance. Lines
// appended to the file while running are picked up on the next request;
// POST /add with go.sum lines in the body adds records too. A record, once
// in the log, never changes (later lines for the same version are ignored).
//
// Misbehaviour for security tests, chosen by -mode or POST /mode (body = mode;
// GET /mode reports it):
//
//	honest            the default
//	tamper-tile       every hash tile has its last byte flipped
//	fork              serves a different log (record 0 altered, one record
//	                  more), consistently signed with the right key
//	empty-record      a lookup answers with a new, logged record "\n"
//	unrelated-record  a lookup answers with a new, logged record about
//	                  another module
//	forged-tile       lookups and data tiles carry altered hashes, and the
//	                  level 0 hash tiles are recomputed to match them (higher
//	                  tiles and the signed tree are honest, so only checking
//	                  every tile against its parent catches a full forged tile)
//	wrong-key         notes signed by another key of the same name
//	bad-signature     notes signed by another key claiming the right key hash
//	rollback          the signed tree is the one of one record less
//	tamper-record     lookups and data tiles carry altered hashes, tiles honest
//	wrong-width       hash tiles carry one extra hash
//
// With -oracle it serves nothing and instead answers parsing questions for
// differential tests: each stdin line "OP BASE64INPUT" gets one stdout line,
// "ok ..." or "err MESSAGE", where OP is open (note.Open with the test and
// PeterNeumann keys), tree (tlog.ParseTree), record (tlog.ParseRecord),
// tilepath (tlog.ParseTilePath) or vkey (note.NewVerifier).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const testSignerKey = "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk"

var modes = map[string]bool{
	"honest": true, "tamper-tile": true, "fork": true, "empty-record": true,
	"unrelated-record": true, "forged-tile": true, "wrong-key": true,
	"bad-signature": true, "rollback": true, "tamper-record": true, "wrong-width": true,
}

// hashStore is a stored-hash array that reports, rather than panics on,
// indexes it does not hold.
type hashStore []tlog.Hash

func (h hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(h)) {
			return nil, os.ErrNotExist
		}
		out[i] = h[x]
	}
	return out, nil
}

// logState is a log: records and their stored hashes.
type logState struct {
	records [][]byte
	hashes  hashStore
}

func (l *logState) add(text []byte) int64 {
	id := int64(len(l.records))
	hashes, err := tlog.StoredHashes(id, text, l.hashes)
	if err != nil {
		panic(err)
	}
	l.records = append(l.records, text)
	l.hashes = append(l.hashes, hashes...)
	return id
}

func (l *logState) tree(n int64) tlog.Tree {
	h, err := tlog.TreeHash(n, l.hashes)
	if err != nil {
		panic(err)
	}
	return tlog.Tree{N: n, Hash: h}
}

// alter changes the first hash of a record text (keeps it a valid record).
func alter(text []byte) []byte {
	out := bytes.Clone(text)
	if i := bytes.Index(out, []byte("h1:")); i >= 0 && i+3 < len(out) {
		if out[i+3] == 'A' {
			out[i+3] = 'B'
		} else {
			out[i+3] = 'A'
		}
	}
	return out
}

type server struct {
	mu          sync.Mutex
	mode        string
	honest      logState
	ids         map[string]int64 // "path@version" -> record id
	badIDs      map[string]int64 // bad records appended by empty/unrelated-record modes
	pending     map[string][]string
	order       []string
	file        string
	fileOffset  int64
	signer      note.Signer
	wrongSigner note.Signer
	claimSigner note.Signer
}

// claimingSigner signs with one key but claims another's name and hash.
type claimingSigner struct {
	name string
	hash uint32
	real note.Signer
}

func (c claimingSigner) Name() string                    { return c.name }
func (c claimingSigner) KeyHash() uint32                 { return c.hash }
func (c claimingSigner) Sign(msg []byte) ([]byte, error) { return c.real.Sign(msg) }

// addLines groups go.sum lines by module version and appends new records.
func (s *server) addLines(text string) (int, error) {
	added := 0
	var fresh []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return added, fmt.Errorf("bad go.sum line %q", line)
		}
		key := f[0] + "@" + strings.TrimSuffix(f[1], "/go.mod")
		if _, done := s.ids[key]; done {
			continue
		}
		if _, ok := s.pending[key]; !ok {
			fresh = append(fresh, key)
		}
		s.pending[key] = append(s.pending[key], f[0]+" "+f[1]+" "+f[2])
	}
	for _, key := range fresh {
		lines := s.pending[key]
		delete(s.pending, key)
		s.ids[key] = s.honest.add([]byte(strings.Join(lines, "\n") + "\n"))
		added++
	}
	return added, nil
}

// refresh reads complete lines appended to the records file.
func (s *server) refresh() {
	if s.file == "" {
		return
	}
	f, err := os.Open(s.file)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(s.fileOffset, io.SeekStart); err != nil {
		return
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return
	}
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return
	}
	if _, err := s.addLines(string(data[:end+1])); err != nil {
		log.Printf("records file: %v", err)
	}
	s.fileOffset += int64(end + 1)
}

// current returns the log the server presents in the current mode.
func (s *server) current() *logState {
	switch s.mode {
	case "fork":
		var fork logState
		for i, r := range s.honest.records {
			if i == 0 {
				r = alter(r)
			}
			fork.add(r)
		}
		fork.add([]byte(fmt.Sprintf("example.com/fork v1.0.0 h1:%s\n", fakeHash("fork"))))
		return &fork
	case "forged-tile":
		var forged logState
		for _, r := range s.honest.records {
			forged.add(alter(r))
		}
		return &forged
	}
	return &s.honest
}

func fakeHash(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return tlog.Hash(sum).String()
}

func (s *server) Signed(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.current()
	n := int64(len(l.records))
	signer := s.signer
	switch s.mode {
	case "forged-tile":
		l = &s.honest
	case "rollback":
		if n > 1 {
			n--
		}
	case "wrong-key":
		signer = s.wrongSigner
	case "bad-signature":
		signer = s.claimSigner
	}
	return note.Sign(&note.Note{Text: string(tlog.FormatTree(l.tree(n)))}, signer)
}

func (s *server) ReadRecords(ctx context.Context, id, n int64) ([][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.current()
	var out [][]byte
	for i := int64(0); i < n; i++ {
		if id+i < 0 || id+i >= int64(len(l.records)) {
			return nil, os.ErrNotExist
		}
		r := l.records[id+i]
		if s.mode == "tamper-record" {
			r = alter(r)
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *server) Lookup(ctx context.Context, m module.Version) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := m.Path + "@" + m.Version
	id, ok := s.ids[key]
	if !ok {
		return 0, os.ErrNotExist
	}
	switch s.mode {
	case "empty-record", "unrelated-record":
		badKey := s.mode + " " + key
		if bad, ok := s.badIDs[badKey]; ok {
			return bad, nil
		}
		text := "\n"
		if s.mode == "unrelated-record" {
			text = fmt.Sprintf("example.com/unrelated v1.0.0 h1:%s\nexample.com/unrelated v1.0.0/go.mod h1:%s\n",
				fakeHash("u1"), fakeHash("u2"))
		}
		bad := s.honest.add([]byte(text))
		s.badIDs[badKey] = bad
		return bad, nil
	}
	return id, nil
}

func (s *server) ReadTileData(ctx context.Context, t tlog.Tile) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.current()
	if s.mode == "forged-tile" && t.L > 0 {
		l = &s.honest
	}
	// Only tiles inside the presented tree exist.
	if n := int64(len(l.records)); t.L < 0 || (t.N<<uint(t.H)+int64(t.W))<<uint(t.H*t.L) > n {
		return nil, os.ErrNotExist
	}
	data, err := tlog.ReadTileData(t, l.hashes)
	if err != nil {
		return nil, err
	}
	switch s.mode {
	case "tamper-tile":
		data[len(data)-1] ^= 1
	case "wrong-width":
		data = append(data, make([]byte, tlog.HashSize)...)
	}
	return data, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
	records := flag.String("records", "", "go.sum-style file of records")
	key := flag.String("key", testSignerKey, "note signer key")
	mode := flag.String("mode", "honest", "misbehaviour mode")
	oracleMode := flag.Bool("oracle", false, "answer parsing questions on stdin instead of serving")
	flag.Parse()
	log.SetPrefix("sumdb-server: ")
	log.SetFlags(0)
	if *oracleMode {
		oracle(os.Stdin, os.Stdout)
		return
	}

	if !modes[*mode] {
		log.Fatalf("unknown mode %q", *mode)
	}
	signer, err := note.NewSigner(*key)
	if err != nil {
		log.Fatal(err)
	}
	// A fixed second key under the same name, for wrong-key modes.
	seed := sha256.Sum256([]byte("goxy sumdb-server wrong key"))
	wrongSkey, _, err := note.GenerateKey(bytes.NewReader(append(seed[:], seed[:]...)), signer.Name())
	if err != nil {
		log.Fatal(err)
	}
	wrongSigner, err := note.NewSigner(wrongSkey)
	if err != nil {
		log.Fatal(err)
	}
	s := &server{
		mode:        *mode,
		ids:         map[string]int64{},
		badIDs:      map[string]int64{},
		pending:     map[string][]string{},
		file:        *records,
		signer:      signer,
		wrongSigner: wrongSigner,
		claimSigner: claimingSigner{name: signer.Name(), hash: signer.KeyHash(), real: wrongSigner},
	}
	if *records != "" {
		if _, err := os.Stat(*records); err != nil {
			log.Fatal(err)
		}
		s.refresh()
	}

	db := sumdb.NewServer(s)
	mux := http.NewServeMux()
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		n, err := s.addLines(string(body))
		size := len(s.honest.records)
		s.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "added %d records; tree size %d\n", n, size)
	})
	mux.HandleFunc("/mode", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			m := strings.TrimSpace(string(body))
			if !modes[m] {
				http.Error(w, "unknown mode "+m, http.StatusBadRequest)
				return
			}
			s.mu.Lock()
			s.mode = m
			s.mu.Unlock()
		}
		s.mu.Lock()
		fmt.Fprintln(w, s.mode)
		s.mu.Unlock()
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.refresh()
		s.mu.Unlock()
		db.ServeHTTP(w, r)
	})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "http://%s\n", ln.Addr())
	out.Flush()
	log.Fatal(http.Serve(ln, mux))
}

// oracle answers "OP BASE64INPUT" lines; see the package comment.
func oracle(in io.Reader, out io.Writer) {
	var verifiers []note.Verifier
	for _, k := range []string{
		"localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6",
		"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	} {
		v, err := note.NewVerifier(k)
		if err != nil {
			log.Fatal(err)
		}
		verifiers = append(verifiers, v)
	}
	known := note.VerifierList(verifiers...)
	b64 := base64.StdEncoding.EncodeToString
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	w := bufio.NewWriter(out)
	defer w.Flush()
	for sc.Scan() {
		op, arg, _ := strings.Cut(sc.Text(), " ")
		data, err := base64.StdEncoding.DecodeString(arg)
		if err != nil {
			log.Fatalf("oracle input: %v", err)
		}
		var answer string
		switch op {
		case "open":
			n, err := note.Open(data, known)
			if err != nil {
				answer = "err " + err.Error()
			} else {
				answer = fmt.Sprintf("ok %s %d %d", b64([]byte(n.Text)), len(n.Sigs), len(n.UnverifiedSigs))
			}
		case "tree":
			t, err := tlog.ParseTree(data)
			if err != nil {
				answer = "err " + err.Error()
			} else {
				answer = fmt.Sprintf("ok %d %s", t.N, t.Hash)
			}
		case "record":
			id, text, rest, err := tlog.ParseRecord(data)
			if err != nil {
				answer = "err " + err.Error()
			} else {
				answer = fmt.Sprintf("ok %d %s %s", id, b64(text), b64(rest))
			}
		case "tilepath":
			t, err := tlog.ParseTilePath(string(data))
			if err != nil {
				answer = "err " + err.Error()
			} else {
				answer = fmt.Sprintf("ok %d %d %d %d", t.H, t.L, t.N, t.W)
			}
		case "vkey":
			v, err := note.NewVerifier(string(data))
			if err != nil {
				answer = "err " + err.Error()
			} else {
				answer = fmt.Sprintf("ok %s %08x", v.Name(), v.KeyHash())
			}
		default:
			log.Fatalf("oracle: unknown op %q", op)
		}
		fmt.Fprintln(w, answer)
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
}
