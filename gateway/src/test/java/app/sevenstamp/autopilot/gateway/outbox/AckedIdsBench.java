package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.EventIds;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.lang.ref.Reference;
import java.util.HashSet;
import java.util.Set;

/**
 * Not a test: the heap the replay's set of acknowledged ids retains, {@link AckedIds} against the
 * {@code HashSet<String>} it replaced (docs/performance.md). Each id is read with {@code readUTF}, a new
 * string as in the replay; retained = used heap after six {@code System.gc()} with the set, less before.
 * Run: {@code java -Xmx64m -XX:+UseSerialGC -cp ... AckedIdsBench hashset|acked IDS [holdMs]} (hold: time
 * for {@code jcmd PID GC.class_histogram}).
 */
public final class AckedIdsBench {
    private AckedIdsBench() {
    }

    static long used() {
        Runtime rt = Runtime.getRuntime();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 6; i++) {
            System.gc();
            best = Math.min(best, rt.totalMemory() - rt.freeMemory());
        }
        return best;
    }

    /** The ids as an ACKED record holds them, so that each string is read anew (readUTF), as in the replay. */
    static byte[] log(int n) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        long t = 1_764_835_200_000L;
        for (int i = 0; i < n; i++) {
            out.writeUTF(EventIds.next(t + i / 50));
        }
        return bytes.toByteArray();
    }

    public static void main(String[] args) throws Exception {
        String kind = args[0];
        int n = Integer.parseInt(args[1]);
        byte[] log = log(n);
        long before = used();
        Object set;
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(log));
        if (kind.equals("hashset")) {
            Set<String> s = new HashSet<>();
            for (int i = 0; i < n; i++) {
                s.add(in.readUTF());
            }
            set = s;
        } else {
            AckedIds s = new AckedIds();
            for (int i = 0; i < n; i++) {
                s.add(in.readUTF());
            }
            set = s;
        }
        long after = used();
        System.out.printf("%s %d ids: %.2f MB retained (%.1f bytes/id)%n", kind, n, (after - before) / 1e6,
                (after - before) / (double) n);
        if (args.length > 2) {
            System.out.println("pid " + ProcessHandle.current().pid() + " waiting");
            Thread.sleep(Long.parseLong(args[2]));
        }
        Reference.reachabilityFence(set);
        Reference.reachabilityFence(log);
    }
}
