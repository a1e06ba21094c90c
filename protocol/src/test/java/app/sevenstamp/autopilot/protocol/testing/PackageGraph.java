package app.sevenstamp.autopilot.protocol.testing;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;

/**
 * Which of a module's packages import which, read from its compiled classes by the JDK's own jdeps (no
 * library needed), and the cycles among them: each strongly connected group of two or more packages,
 * with the edges inside it, so a failing test says which imports to cut.
 */
public final class PackageGraph {
    private final Map<String, Set<String>> edges;

    private PackageGraph(Map<String, Set<String>> edges) {
        this.edges = edges;
    }

    /** The package graph of the classes under {@code classes}, only packages starting with {@code prefix}. */
    public static PackageGraph of(Path classes, String prefix) {
        if (!Files.isDirectory(classes)) {
            throw new IllegalStateException(classes + " does not exist: compile the module first");
        }
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new IllegalStateException(
                "this JVM has no jdeps (a JRE, not a JDK?)"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = jdeps.run(new PrintWriter(out), new PrintWriter(err), "-verbose:package", "-filter:none",
                "--ignore-missing-deps", classes.toString());
        if (code != 0) {
            throw new IllegalStateException("jdeps failed (" + code + "): " + err);
        }
        Map<String, Set<String>> edges = new TreeMap<>();
        for (String line : out.toString().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && f[1].equals("->") && f[0].startsWith(prefix) && f[2].startsWith(prefix)) {
                edges.computeIfAbsent(f[0], k -> new TreeSet<>());
                edges.computeIfAbsent(f[2], k -> new TreeSet<>());
                if (!f[0].equals(f[2])) {
                    edges.get(f[0]).add(f[2]);
                }
            }
        }
        return new PackageGraph(edges);
    }

    public Set<String> packages() {
        return edges.keySet();
    }

    /** Every cycle as "a, b, c: a -> b, b -> c, c -> a"; empty when the packages form layers. */
    public List<String> cycles() {
        List<String> out = new ArrayList<>();
        for (Set<String> group : stronglyConnected()) {
            StringBuilder b = new StringBuilder(String.join(", ", group)).append(':');
            for (String from : group) {
                for (String to : edges.get(from)) {
                    if (group.contains(to)) {
                        b.append(' ').append(from).append(" -> ").append(to).append(';');
                    }
                }
            }
            out.add(b.toString());
        }
        return out;
    }

    /** Tarjan's algorithm; groups of one package are no cycle and are left out. */
    private List<Set<String>> stronglyConnected() {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new HashSet<>();
        List<Set<String>> groups = new ArrayList<>();
        for (String v : edges.keySet()) {
            if (!index.containsKey(v)) {
                visit(v, index, low, stack, onStack, groups);
            }
        }
        return groups;
    }

    private void visit(String v, Map<String, Integer> index, Map<String, Integer> low, Deque<String> stack,
            Set<String> onStack, List<Set<String>> groups) {
        index.put(v, index.size());
        low.put(v, index.get(v));
        stack.push(v);
        onStack.add(v);
        for (String w : edges.get(v)) {
            if (!index.containsKey(w)) {
                visit(w, index, low, stack, onStack, groups);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<String> group = new TreeSet<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                group.add(w);
            } while (!w.equals(v));
            if (group.size() > 1) {
                groups.add(group);
            }
        }
    }
}
