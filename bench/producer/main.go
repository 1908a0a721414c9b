// Command producer-bench measures the producer against local engines: publishing N
// names from a file to the Pub/Sub emulator, and backfilling M objects from
// fake-gcs-server. It reports names/s, the producer process's peak RSS, and its median
// RSS over the second and the last fifth of the run (early/late: flat memory shows as
// equal figures). It is a benchmark, not a test: run it with `make bench-producer`.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/sluice-dev/sluice/bench/internal/harness"
)

func main() {
	publishCounts := flag.String("publish", "100000,1000000", "comma-separated name counts to publish")
	listCounts := flag.String("list", "10000", "comma-separated object counts to backfill")
	flag.StringVar(&listWorkers, "list-workers", "1", "comma-separated producer --list-workers values to backfill with")
	emulator := flag.String("emulator", "", "Pub/Sub emulator launcher (default: from gcloud's SDK root)")
	producer := flag.String("producer", "", "producer binary (default: built into a temporary directory)")
	flag.IntVar(&pageSize, "page-size", 1000, "producer --page-size: objects per list request")
	flag.DurationVar(&listLatency, "list-latency", 0, "delay every storage request by this much, "+
		"through a proxy, as a model of Cloud Storage's round trip (0: none)")
	flag.StringVar(&cpuProfile, "fakeprofile", "", "write a CPU profile of fake-gcs-server during backfills to `FILE`")
	flag.Parse()
	if err := run(*publishCounts, *listCounts, *emulator, *producer); err != nil {
		log.Fatal(err)
	}
}

// cpuProfile is where the fake's CPU profile goes; "" for none.
var cpuProfile string

// listWorkers are the --list-workers values each backfill count runs with.
var listWorkers string

// pageSize is the producer's --page-size.
var pageSize int

// listLatency is added to every storage request of a backfill; 0 for none.
var listLatency time.Duration

func run(publishCounts, listCounts, emulator, producer string) error {
	dir, err := os.MkdirTemp("", "producer-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if producer == "" {
		producer = filepath.Join(dir, "producer")
		if out, err := exec.Command("go", "build", "-o", producer, "./producer").CombinedOutput(); err != nil {
			return fmt.Errorf("build producer: %v\n%s", err, out)
		}
	}
	addr, stop, err := startEmulator(emulator)
	if err != nil {
		return err
	}
	defer stop()
	env := append(os.Environ(), "PUBSUB_EMULATOR_HOST="+addr, "SLUICE_PROJECT=bench")
	// One client for the bench's own topic admin, made once.
	os.Setenv("PUBSUB_EMULATOR_HOST", addr)
	ps, err := pubsub.NewClient(context.Background(), "bench")
	if err != nil {
		return err
	}
	defer ps.Close()

	fmt.Printf("%-11s %10s %10s %12s %12s %12s %14s\n", "phase", "count", "seconds", "names/s", "peak RSS MiB",
		"producer CPU s", "RSS early/late")
	for i, n := range counts(publishCounts) {
		topic := fmt.Sprintf("publish-%d", i)
		if err := createTopic(ps, topic); err != nil {
			return err
		}
		input := filepath.Join(dir, "names.txt")
		if err := writeNames(input, n); err != nil {
			return err
		}
		r, err := measure(producer, env, "publish", "--topic", topic, "--input", input, "--bucket", "bench")
		if err != nil {
			return err
		}
		r.print("publish", n)
	}
	for i, n := range counts(listCounts) {
		// One seeded root per count, shared by every --list-workers value.
		root := filepath.Join(dir, fmt.Sprint("gcs-", i))
		seedStart := time.Now()
		if err := seedFS(root, "bench", n); err != nil {
			return err
		}
		fmt.Printf("# seeded %d objects in %.1fs\n", n, time.Since(seedStart).Seconds())
		for j, w := range counts(listWorkers) {
			topic := fmt.Sprintf("backfill-%d-%d", i, j)
			if err := createTopic(ps, topic); err != nil {
				return err
			}
			gcs, err := startStorage(root)
			if err != nil {
				return err
			}
			// The fake runs in this process: a profile of it shows where listing time goes.
			if cpuProfile != "" {
				f, err := os.Create(fmt.Sprintf("%s.%d.%d", cpuProfile, n, w))
				if err != nil {
					return err
				}
				pprof.StartCPUProfile(f)
				defer f.Close()
			}
			host := gcs.URL()
			var proxy *harness.LatencyProxy
			if listLatency > 0 {
				if proxy, err = harness.StartLatencyProxy(strings.TrimPrefix(host, "http://"), listLatency); err != nil {
					return err
				}
				host = "http://" + proxy.Addr
			}
			r, err := measure(producer, append(env, "STORAGE_EMULATOR_HOST="+host),
				"backfill", "--topic", topic, "--bucket", "bench", "--list-workers", fmt.Sprint(w),
				"--page-size", fmt.Sprint(pageSize))
			pprof.StopCPUProfile()
			if proxy != nil {
				fmt.Printf("# backfill/%d: %d storage requests, %v each added, for %d pages of objects\n",
					w, proxy.Requests.Load(), listLatency, (n+pageSize-1)/pageSize)
				proxy.Close()
			}
			gcs.Stop()
			if err != nil {
				return err
			}
			if want := fmt.Sprintf(`"published":%d,`, n); !strings.Contains(r.stderr, want) {
				return fmt.Errorf("backfill of %d objects did not publish them all:\n%s", n, tail(r.stderr))
			}
			r.print(fmt.Sprintf("backfill/%d", w), n)
		}
	}
	return nil
}

type result struct {
	elapsed time.Duration
	cpu     time.Duration // the producer's user plus system time
	maxRSS  int64         // bytes
	// early and late are the median RSS over the second and the last fifth of the run,
	// in bytes: how resident memory moved once the process was started.
	early, late int64
	stderr      string
}

func (r result) print(phase string, n int) {
	fmt.Printf("%-11s %10d %10.2f %12.0f %12.1f %12.2f %6.1f/%6.1f\n", phase, n, r.elapsed.Seconds(),
		float64(n)/r.elapsed.Seconds(), float64(r.maxRSS)/(1<<20), r.cpu.Seconds(),
		float64(r.early)/(1<<20), float64(r.late)/(1<<20))
}

// measure runs the producer and returns its wall time, CPU time and peak resident set.
// The peak is the highest VmHWM sampled from /proc while it runs, not rusage's
// ru_maxrss: Linux starts a child's ru_maxrss at its parent's peak when it forks, and
// this process hosts fake-gcs-server, whose memory grows with the objects it lists.
func measure(bin string, env []string, args ...string) (result, error) {
	cmd := exec.Command(bin, append(args, "--progress", "0")...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("producer %v: %w", args, err)
	}
	type sampled struct {
		hwm int64
		rss []int64
	}
	peak := make(chan sampled)
	exited := make(chan struct{})
	go func() {
		var last sampled
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			// VmHWM only grows, so the last sample before exit is the peak to within 20 ms.
			if rss, hwm, err := harness.ReadRSS(cmd.Process.Pid); err == nil {
				last.hwm = hwm
				last.rss = append(last.rss, rss)
			}
			select {
			case <-t.C:
			case <-exited:
				peak <- last
				return
			}
		}
	}()
	err := cmd.Wait()
	el := time.Since(start)
	close(exited)
	mem := <-peak
	if err != nil {
		return result{}, fmt.Errorf("producer %v: %v\n%s", args, err, tail(stderr.String()))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fifth := len(mem.rss) / 5
	return result{elapsed: el, cpu: cpu, maxRSS: mem.hwm, stderr: stderr.String(),
		early: harness.Median(mem.rss[fifth : 2*fifth]), late: harness.Median(mem.rss[4*fifth:])}, nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

func counts(s string) []int {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			ns = append(ns, n)
		}
	}
	return ns
}

func writeNames(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, "data/2026/%03d/object-%09d.json\n", i%1000, i)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// startEmulator starts the Pub/Sub emulator in its own process group (its launcher is a
// script that starts java as a child) and returns its address and a stop function that
// kills the group.
func startEmulator(launcher string) (string, func(), error) {
	if launcher == "" {
		out, err := exec.Command("gcloud", "info", "--format=value(installation.sdk_root)").Output()
		if err != nil {
			return "", nil, fmt.Errorf("find the gcloud SDK: %w", err)
		}
		launcher = filepath.Join(strings.TrimSpace(string(out)), "platform/pubsub-emulator/bin/cloud-pubsub-emulator")
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(launcher, "--host=127.0.0.1", fmt.Sprintf("--port=%d", port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start emulator: %w", err)
	}
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, stop, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("emulator did not listen on %s", addr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func createTopic(ps *pubsub.Client, topic string) error {
	_, err := ps.TopicAdminClient.CreateTopic(context.Background(),
		&pubsubpb.Topic{Name: "projects/bench/topics/" + topic})
	return err
}

// startStorage starts fake-gcs-server on loopback over the filesystem root that seedFS
// filled (its memory backend scans a slice per create).
func startStorage(root string) (*fakestorage.Server, error) {
	return fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme:      "http",
		Host:        "127.0.0.1",
		StorageRoot: root,
	})
}
