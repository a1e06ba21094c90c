package app.sevenstamp.autopilot.sink.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A test PKI in the shape of Apple's: a root CA, a "WWDR" intermediate, a Pass Type ID certificate
 * ({@code UID=<pass type id>, OU=<team id>}) issued by it, and a TLS server certificate for localhost
 * (the fake APNs), all written as PEM files into a directory.
 */
public final class TestPki {
    public static final String PASS_TYPE = "pass.app.sevenstamp.test";
    public static final String TEAM = "TEAM123456";
    private static final AtomicLong SERIAL = new AtomicLong(1000);

    public final Path dir;
    public final KeyPair caKeys;
    public final X509Certificate ca;
    public final KeyPair wwdrKeys;
    public final X509Certificate wwdr;
    public final KeyPair passKeys;
    public final X509Certificate pass;
    public final KeyPair serverKeys;
    public final X509Certificate server;

    public TestPki(Path dir) throws Exception {
        this(dir, Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(365)));
    }

    public TestPki(Path dir, Instant passFrom, Instant passUntil) throws Exception {
        this.dir = dir;
        Instant from = Instant.now().minus(Duration.ofDays(2));
        Instant until = Instant.now().plus(Duration.ofDays(3650));
        caKeys = rsa();
        ca = cert(new X500Name("CN=Test Root CA,O=7stamp tests"), caKeys, new X500Name("CN=Test Root CA,O=7stamp tests"),
                caKeys, true, from, until, false);
        wwdrKeys = rsa();
        X500Name wwdrName = new X500Name("CN=Test Worldwide Developer Relations,OU=G4,O=7stamp tests");
        wwdr = cert(wwdrName, wwdrKeys, new X500Name("CN=Test Root CA,O=7stamp tests"), caKeys, true, from, until, false);
        passKeys = rsa();
        pass = cert(new X500Name("UID=" + PASS_TYPE + ",CN=Pass Type ID: " + PASS_TYPE + ",OU=" + TEAM + ",O=7stamp tests"),
                passKeys, wwdrName, wwdrKeys, false, passFrom, passUntil, false);
        serverKeys = rsa();
        server = cert(new X500Name("CN=localhost"), serverKeys, new X500Name("CN=Test Root CA,O=7stamp tests"), caKeys,
                false, from, until, true);
        write("ca.pem", ca);
        write("wwdr.pem", wwdr);
        write("pass.pem", pass);
        write("pass.key", passKeys.getPrivate());
        write("server.pem", server);
        write("server.key", serverKeys.getPrivate());
    }

    public Path file(String name) {
        return dir.resolve(name);
    }

    public static KeyPair rsa() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    private static X509Certificate cert(X500Name subject, KeyPair keys, X500Name issuer, KeyPair issuerKeys, boolean ca,
            Instant from, Instant until, boolean localhost) throws IOException, GeneralSecurityException, OperatorCreationException {
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()),
                Date.from(from), Date.from(until), subject, keys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(ca ? KeyUsage.keyCertSign | KeyUsage.cRLSign
                : KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        if (localhost) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKeys.getPrivate())));
    }

    public void write(String name, Object pemObject) throws IOException {
        StringWriter s = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(s)) {
            w.writeObject(pemObject);
        }
        Files.writeString(dir.resolve(name), s.toString(), StandardCharsets.US_ASCII);
    }
}
