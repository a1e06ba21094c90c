package app.sevenstamp.autopilot.protocol.testing;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.spi.ToolProvider;

/**
 * The public top-level types of a module that nothing outside their own package uses: read with jdeps from
 * the module's main and test classes (a call through a getter counts, as it does for javac), so a type stays
 * public only while another package, or a program's {@code main}, needs it.
 */
public final class PublicTypes {
    private PublicTypes() {
    }

    /**
     * The types under {@code main} (top-level, public, starting with {@code prefix}) with no user in another
     * package among the classes of {@code main} and {@code users}, nor a {@code main} method.
     */
    public static Set<String> unneeded(Path main, String prefix, Path... users) {
        List<String> args = new ArrayList<>(List.of("-verbose:class", "-filter:none", "--ignore-missing-deps", main.toString()));
        for (Path p : users) {
            if (Files.isDirectory(p)) {
                args.add(p.toString());
            }
        }
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new IllegalStateException(
                "this JVM has no jdeps (a JRE, not a JDK?)"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        if (jdeps.run(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new)) != 0) {
            throw new IllegalStateException("jdeps failed: " + err);
        }
        Map<String, Set<String>> usersOf = new HashMap<>();
        for (String line : out.toString().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && f[1].equals("->") && f[2].startsWith(prefix)) {
                usersOf.computeIfAbsent(topLevel(f[2]), k -> new HashSet<>()).add(packageOf(f[0]));
            }
        }
        Set<String> unneeded = new TreeSet<>();
        try (var files = Files.walk(main)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                String name = main.relativize(file).toString();
                if (!name.endsWith(".class") || name.contains("$") || name.endsWith("package-info.class")) {
                    continue;
                }
                String type = name.substring(0, name.length() - 6).replace('/', '.');
                if (!type.startsWith(prefix) || !isPublic(type) || hasMain(type)) {
                    continue;
                }
                Set<String> packages = new HashSet<>(usersOf.getOrDefault(type, Set.of()));
                packages.remove(packageOf(type));
                if (packages.isEmpty()) {
                    unneeded.add(type);
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return unneeded;
    }

    private static String topLevel(String type) {
        int dollar = type.indexOf('$');
        return dollar < 0 ? type : type.substring(0, dollar);
    }

    private static String packageOf(String type) {
        return type.substring(0, type.lastIndexOf('.'));
    }

    private static boolean isPublic(String type) {
        return Modifier.isPublic(load(type).getModifiers());
    }

    private static boolean hasMain(String type) {
        try {
            Method m = load(type).getDeclaredMethod("main", String[].class);
            return Modifier.isStatic(m.getModifiers());
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    private static Class<?> load(String type) {
        try {
            return Class.forName(type, false, PublicTypes.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(type + " is not on the test class path", e);
        }
    }
}
