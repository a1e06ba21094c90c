package app.sevenstamp.autopilot.protocol.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway certificate authority made with the {@code openssl} CLI in a test folder: a CA, a
 * broker certificate for {@code localhost} and {@code 127.0.0.1} (both in the SAN, so hostname
 * verification passes), and client certificates. Keys are PKCS#8 PEM, as the gateway reads them.
 */
public final class TestPki {
    private final Path dir;
    private final String name;

    private TestPki(Path dir, String name) {
        this.dir = dir;
        this.name = name;
    }

    /** A new CA named {@code name} (its subject is {@code CN=name}) in {@code dir/name}. */
    public static TestPki createCa(Path dir, String name) {
        TestPki pki = new TestPki(dir.resolve(name), name);
        try {
            Files.createDirectories(pki.dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        pki.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + name,
                "-keyout", pki.file("ca.key").toString(), "-out", pki.ca().toString(),
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        return pki;
    }

    public Path ca() {
        return file("ca.pem");
    }

    /** A broker (server) certificate signed by this CA, for the given SAN ({@code DNS:localhost,IP:127.0.0.1}). */
    public Issued server(String base, String san) {
        return issue(base, "rsa", "/CN=" + base, "subjectAltName=" + san + "\nextendedKeyUsage=serverAuth\n");
    }

    /** A client certificate signed by this CA; {@code keyType} is {@code rsa} or {@code ec}. */
    public Issued client(String base, String keyType) {
        return issue(base, keyType, "/CN=" + base, "extendedKeyUsage=clientAuth\n");
    }

    /** A certificate and its key, both PEM. */
    public record Issued(Path cert, Path key) {
    }

    private Issued issue(String base, String keyType, String subject, String extensions) {
        Path key = file(base + ".key");
        Path csr = file(base + ".csr");
        Path cert = file(base + ".pem");
        Path ext = file(base + ".ext");
        try {
            Files.writeString(ext, extensions, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (keyType.equals("ec")) {
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
        } else {
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key.toString());
        }
        openssl("req", "-new", "-key", key.toString(), "-subj", subject, "-out", csr.toString());
        openssl("x509", "-req", "-in", csr.toString(), "-CA", ca().toString(), "-CAkey", file("ca.key").toString(),
                "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out", cert.toString());
        return new Issued(cert, key);
    }

    private Path file(String fileName) {
        return dir.resolve(fileName);
    }

    private void openssl(String... args) {
        List<String> command = new ArrayList<>();
        command.add(Tools.require("openssl", "openssl").toString());
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("openssl " + String.join(" ", args) + " failed for CA " + name + ": " + output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
