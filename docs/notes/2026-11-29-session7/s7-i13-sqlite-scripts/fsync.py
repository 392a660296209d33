# fsync probe: append 16 KiB + fdatasync every 20 ms for N seconds on the /work disk; prints p50/p90/p99 ms
import os, sys, time
secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10
path = "/work/wt/s7-i13-sqlite/target/fsync-probe.bin"
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
buf = os.urandom(16384)
t = []
end = time.time() + secs
while time.time() < end:
    os.write(fd, buf)
    a = time.perf_counter(); os.fdatasync(fd); t.append((time.perf_counter() - a) * 1000)
    time.sleep(0.02)
os.close(fd); os.unlink(path)
t.sort()
q = lambda p: t[min(len(t) - 1, int(p * len(t)))]
print(f"fsync 16KiB: n={len(t)} p50 {q(.5):.2f} ms p90 {q(.9):.2f} ms p99 {q(.99):.2f} ms mean {sum(t)/len(t):.2f} ms")
