package node

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/api"
)

// Names of the files and folders in a repo dir (see DESIGN.md, "Storage").
const (
	KeyFile      = "identity.key"
	ConfigFile   = api.ConfigFile
	APIFile      = api.APIFile
	TokenFile    = api.TokenFile
	LockFile     = "repo.lock"
	DatastoreDir = "datastore"
	BlocksDir    = "blocks"
	DBFile       = "f2f.db"
	EnvRepo      = api.EnvRepo
)

// RepoPath resolves the repo dir: flag, else $F2F_REPO, else ~/.face2face.
func RepoPath(flag string) (string, error) { return api.RepoPath(flag) }

// InitRepo creates a repo at path with a new Ed25519 identity, an API token
// and the config of profile. It fails with ErrRepoExists when path already
// holds a repo, and removes what it wrote when it fails half-way.
func InitRepo(path, profile string) (*Config, error) {
	cfg, err := DefaultConfig(profile)
	if err != nil {
		return nil, err
	}
	for _, f := range []string{KeyFile, ConfigFile} {
		if _, err := os.Stat(filepath.Join(path, f)); err == nil {
			return nil, fmt.Errorf("%w: %s", ErrRepoExists, path)
		}
	}
	created := false
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		created = true
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("create repo dir: %w", err)
	}
	written := []string{}
	fail := func(err error) (*Config, error) {
		for _, f := range written {
			os.Remove(f)
		}
		if created {
			os.Remove(path)
		}
		return nil, err
	}
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return fail(fmt.Errorf("generate identity: %w", err))
	}
	pid, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return fail(err)
	}
	keyBytes, err := crypto.MarshalPrivateKey(sk)
	if err != nil {
		return fail(err)
	}
	cfg.PeerID = pid.String()
	cfgBytes, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fail(err)
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return fail(err)
	}
	for _, w := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{KeyFile, keyBytes, 0o600},
		{TokenFile, []byte(hex.EncodeToString(tok) + "\n"), 0o600},
		{ConfigFile, append(cfgBytes, '\n'), 0o600},
	} {
		p := filepath.Join(path, w.name)
		write := writeFileAtomic
		if w.name == KeyFile {
			write = writeFileExclusive // the identity decides a race of two inits
		}
		if err := write(p, w.data, w.perm); err != nil {
			if errors.Is(err, fs.ErrExist) { // another init won the race
				return fail(fmt.Errorf("%w: %s", ErrRepoExists, path))
			}
			return fail(fmt.Errorf("write %s: %w", w.name, err))
		}
		written = append(written, p)
	}
	return cfg, nil
}

// Repo is an opened, locked repo dir.
type Repo struct {
	Path   string
	Config *Config
	Key    crypto.PrivKey
	lock   *os.File
}

// OpenRepo loads the identity and config of the repo at path and takes its
// lock. The lock is an flock on repo.lock, which the kernel drops when the
// process dies, so a daemon killed with -9 never leaves a stale lock.
func OpenRepo(path string) (*Repo, error) {
	if err := checkInitialised(path); err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(filepath.Join(path, LockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (stop it first, or use another --repo)", ErrRepoLocked, path)
		}
		return nil, fmt.Errorf("lock repo: %w", err)
	}
	r := &Repo{Path: path, lock: lf}
	if err := r.load(); err != nil {
		r.Close()
		return nil, err
	}
	_ = lf.Truncate(0)
	_, _ = lf.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
	return r, nil
}

func checkInitialised(path string) error {
	for _, f := range []string{KeyFile, ConfigFile} {
		if _, err := os.Stat(filepath.Join(path, f)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%w: %s (run `f2f init --repo %s`)", ErrNotInitialised, path, path)
			}
			return fmt.Errorf("repo %s: %w", path, err)
		}
	}
	return nil
}

func (r *Repo) load() error {
	kb, err := os.ReadFile(filepath.Join(r.Path, KeyFile))
	if err != nil {
		return fmt.Errorf("read identity: %w", err)
	}
	sk, err := crypto.UnmarshalPrivateKey(kb)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadKey, filepath.Join(r.Path, KeyFile), err)
	}
	cfg, err := loadConfig(filepath.Join(r.Path, ConfigFile))
	if err != nil {
		return err
	}
	r.Key, r.Config = sk, cfg
	return nil
}

// Close releases the lock.
func (r *Repo) Close() error {
	if r.lock == nil {
		return nil
	}
	err := r.lock.Close() // closing the descriptor drops the flock
	r.lock = nil
	return err
}

// ParseBootstrap parses full multiaddrs (with /p2p/) into AddrInfos, merging
// addresses of the same peer.
func ParseBootstrap(addrs []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	idx := map[peer.ID]int{}
	for _, s := range addrs {
		ai, err := ParsePeerAddr(s)
		if err != nil {
			return nil, err
		}
		if i, ok := idx[ai.ID]; ok {
			out[i].Addrs = append(out[i].Addrs, ai.Addrs...)
			continue
		}
		idx[ai.ID] = len(out)
		out = append(out, *ai)
	}
	return out, nil
}

// ParsePeerAddr parses a full multiaddr ending in /p2p/<peer id>.
func ParsePeerAddr(s string) (*peer.AddrInfo, error) { return api.ParsePeerAddr(s) }
