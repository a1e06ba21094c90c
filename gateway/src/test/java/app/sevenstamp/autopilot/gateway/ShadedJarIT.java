package app.sevenstamp.autopilot.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The packaged jar keeps only part of Bouncy Castle (the gateway's pom: the packages its Ed25519 check
 * needs). A class left out would surface as a NoClassDefFoundError on the scan that first takes the path to
 * it, so the classes are followed from the card check through every class each one names (its constant
 * pool), and each must be in the jar; and the card check runs from the jar alone.
 */
class ShadedJarIT {
    private static final Path JAR = Path.of("target", "autopilot-gateway.jar");
    private static final String CHECK = "app/sevenstamp/autopilot/protocol/card/BcSignatureCheck";
    /** Classes of Bouncy Castle and of the check's own package, in the form a class file names them. */
    private static final Pattern NAMED_CLASS = Pattern.compile("(org/bouncycastle|app/sevenstamp/autopilot/protocol/card)/[\\w/$]+");

    @Test
    void everyClassTheCardCheckCanReachIsInTheJar() throws IOException {
        Set<String> reached = new TreeSet<>();
        Set<String> missing = new TreeSet<>();
        Deque<String> next = new ArrayDeque<>(List.of(CHECK));
        try (JarFile jar = new JarFile(JAR.toFile())) {
            String name;
            while ((name = next.poll()) != null) {
                if (!reached.add(name)) {
                    continue;
                }
                JarEntry entry = jar.getJarEntry(name + ".class");
                if (entry == null) {
                    missing.add(name);
                    continue;
                }
                try (InputStream in = jar.getInputStream(entry)) {
                    for (String text : constantPoolTexts(in)) {
                        Matcher m = NAMED_CLASS.matcher(text);
                        while (m.find()) {
                            next.add(m.group());
                        }
                    }
                }
            }
        }
        assertTrue(reached.contains("org/bouncycastle/math/ec/rfc8032/Ed25519"), "the walk reached Bouncy Castle: " + reached);
        assertTrue(reached.size() > 100, reached.size() + " classes reached");
        assertEquals(Set.of(), missing, "classes the card check can reach but the jar left out");
    }

    @Test
    void theCardCheckRunsFromTheJarAlone() throws Exception {
        byte[] seed = Ed25519.newSeed(new SecureRandom());
        PublicKey key = Ed25519.publicKey(Ed25519.publicKeyOf(seed));
        byte[] message = "7S1.k1.coffee.ABCDEFGHJKMNPQRS".getBytes(StandardCharsets.US_ASCII);
        byte[] signature = Ed25519.sign(Ed25519.privateKey(seed), message);
        byte[] bad = signature.clone();
        bad[40] ^= 1;
        // the platform loader as parent: nothing of this build's class path can stand in for a missing class
        try (URLClassLoader jar = new URLClassLoader(new URL[] {JAR.toUri().toURL()}, ClassLoader.getPlatformClassLoader())) {
            Class<?> check = Class.forName("app.sevenstamp.autopilot.protocol.card.BcSignatureCheck", true, jar);
            check.getMethod("warmUp").invoke(null);
            Method verify = check.getMethod("verify", PublicKey.class, byte[].class, byte[].class);
            assertTrue((Boolean) verify.invoke(null, key, message, signature));
            assertFalse((Boolean) verify.invoke(null, key, message, bad));
            assertFalse((Boolean) verify.invoke(null, key, message, new byte[64]));
        }
    }

    /** The UTF-8 entries of a class file's constant pool: the names of the classes, fields and types it uses. */
    private static List<String> constantPoolTexts(InputStream classFile) throws IOException {
        DataInputStream in = new DataInputStream(classFile);
        if (in.readInt() != 0xCAFEBABE) {
            throw new IOException("not a class file");
        }
        in.readUnsignedShort(); // minor
        in.readUnsignedShort(); // major
        int count = in.readUnsignedShort();
        List<String> texts = new ArrayList<>();
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> texts.add(in.readUTF());
                case 7, 8, 16, 19, 20 -> in.skipNBytes(2);
                case 15 -> in.skipNBytes(3);
                case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipNBytes(4);
                case 5, 6 -> {
                    in.skipNBytes(8);
                    i++; // a long or double takes two entries
                }
                default -> throw new IOException("constant pool tag " + tag + " at entry " + i);
            }
        }
        return texts;
    }
}
