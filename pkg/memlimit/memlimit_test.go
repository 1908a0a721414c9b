package memlimit

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestDetect(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name    string
		files   map[string]string
		goLimit int64
		want    Limit
	}{
		{
			name:    "nothing",
			goLimit: math.MaxInt64,
			want:    Limit{Source: None},
		},
		{
			name: "cgroup v1 nested",
			files: map[string]string{
				"proc/self/cgroup": "5:devices:/\n4:memory:/kubepods/pod1/c1\n0::/\n",
				"sys/fs/cgroup/memory/kubepods/pod1/c1/memory.limit_in_bytes": "536870912\n",
			},
			goLimit: math.MaxInt64,
			want:    Limit{Bytes: 512 * mib, Source: CgroupV1, Cgroup: 512 * mib},
		},
		{
			name: "cgroup v1 unlimited",
			files: map[string]string{
				"proc/self/cgroup":                           "4:memory:/\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
			},
			goLimit: math.MaxInt64,
			want:    Limit{Source: None},
		},
		{
			name: "cgroup v2",
			files: map[string]string{
				"proc/self/cgroup":                     "0::/kubepods/c1\n",
				"sys/fs/cgroup/kubepods/c1/memory.max": "268435456\n",
			},
			goLimit: math.MaxInt64,
			want:    Limit{Bytes: 256 * mib, Source: CgroupV2, Cgroup: 256 * mib},
		},
		{
			name: "cgroup v2 max",
			files: map[string]string{
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "max\n",
			},
			goLimit: math.MaxInt64,
			want:    Limit{Source: None},
		},
		{
			name: "GOMEMLIMIT below the cgroup wins",
			files: map[string]string{
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "536870912\n",
			},
			goLimit: 400 * mib,
			want:    Limit{Bytes: 400 * mib, Source: GoMemLim, Cgroup: 512 * mib},
		},
		{
			name: "GOMEMLIMIT above the cgroup loses",
			files: map[string]string{
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "536870912\n",
			},
			goLimit: 1024 * mib,
			want:    Limit{Bytes: 512 * mib, Source: CgroupV2, Cgroup: 512 * mib},
		},
		{
			name:    "GOMEMLIMIT alone",
			goLimit: 100 * mib,
			want:    Limit{Bytes: 100 * mib, Source: GoMemLim},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tt.files {
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := detect(root, tt.goLimit); got != tt.want {
				t.Errorf("detect = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{512, "512B"}, {1 << 10, "1KiB"}, {512 << 20, "512MiB"}, {3 << 29, "1.5GiB"},
	}
	for _, tt := range tests {
		if got := FormatBytes(tt.n); got != tt.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
