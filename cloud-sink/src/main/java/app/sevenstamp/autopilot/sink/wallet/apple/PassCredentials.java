package app.sevenstamp.autopilot.sink.wallet.apple;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.sink.config.AppleWalletSettings;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * The Pass Type ID certificate, its private key and Apple's WWDR intermediate, loaded once. The same
 * certificate signs passes and is the TLS client certificate towards APNs. {@link #problems} is what
 * {@code wallet check} prints and what start-up refuses on.
 */
final class PassCredentials {
    /** Warn this long before the certificate runs out: renewing it takes an Apple developer login. */
    static final Duration EXPIRY_WARNING = Duration.ofDays(30);

    private final X509Certificate certificate;
    private final PrivateKey key;
    private final X509Certificate wwdr;

    PassCredentials(X509Certificate certificate, PrivateKey key, X509Certificate wwdr) {
        this.certificate = certificate;
        this.key = key;
        this.wwdr = wwdr;
    }

    /**
     * Reads the files named in the settings.
     *
     * @throws ConfigException naming the key and file that cannot be read
     */
    public static PassCredentials load(AppleWalletSettings s) {
        X509Certificate wwdr = certificates(s.wwdr(), "wallet.apple.wwdr").get(0);
        if (s.p12() != null) {
            try (InputStream in = Files.newInputStream(s.p12())) {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(in, s.p12Password().toCharArray());
                for (Enumeration<String> e = ks.aliases(); e.hasMoreElements();) {
                    String alias = e.nextElement();
                    if (ks.isKeyEntry(alias)) {
                        return new PassCredentials((X509Certificate) ks.getCertificate(alias),
                                (PrivateKey) ks.getKey(alias, s.p12Password().toCharArray()), wwdr);
                    }
                }
                throw new ConfigException("wallet.apple.p12: " + s.p12() + " holds no private key; export the certificate "
                        + "together with its key from Keychain");
            } catch (IOException | GeneralSecurityException e) {
                throw new ConfigException("wallet.apple.p12: " + s.p12() + " cannot be read (" + e.getMessage()
                        + "); is wallet.apple.p12Password right?", e);
            }
        }
        return new PassCredentials(certificates(s.cert(), "wallet.apple.cert").get(0), privateKey(s.key()), wwdr);
    }

    public X509Certificate certificate() {
        return certificate;
    }

    PrivateKey key() {
        return key;
    }

    public X509Certificate wwdr() {
        return wwdr;
    }

    /**
     * What is wrong or about to be, one sentence each; empty when all is well. Checks the dates of both
     * certificates, that the key belongs to the certificate, that the WWDR certificate signed it, and that
     * the certificate is for this pass type and team.
     */
    public List<String> problems(String passTypeId, String teamId, Instant now) {
        List<String> out = new ArrayList<>();
        dates(out, "the pass certificate", certificate, now);
        dates(out, "the WWDR certificate", wwdr, now);
        if (!matches(key, certificate.getPublicKey())) {
            out.add("the private key does not belong to the pass certificate (" + certificate.getSubjectX500Principal() + ")");
        }
        try {
            certificate.verify(wwdr.getPublicKey());
        } catch (GeneralSecurityException e) {
            out.add("the pass certificate was not issued by the WWDR certificate given (issuer " + certificate.getIssuerX500Principal()
                    + ", WWDR " + wwdr.getSubjectX500Principal() + "); download the WWDR intermediate that signed it");
        }
        String subject = certificate.getSubjectX500Principal().getName(X500Principal.RFC2253);
        if (!subject.contains(passTypeId)) {
            out.add("the pass certificate's subject (" + subject + ") does not name " + passTypeId);
        }
        if (!subject.contains("OU=" + teamId)) {
            out.add("the pass certificate's subject (" + subject + ") does not name team " + teamId + " (OU)");
        }
        return out;
    }

    /** When the pass certificate runs out. */
    public Instant notAfter() {
        return certificate.getNotAfter().toInstant();
    }

    private static void dates(List<String> out, String what, X509Certificate c, Instant now) {
        Instant after = c.getNotAfter().toInstant();
        Instant before = c.getNotBefore().toInstant();
        if (now.isBefore(before)) {
            out.add(what + " is not valid before " + before);
        } else if (!now.isBefore(after)) {
            out.add(what + " expired on " + after + "; passes signed with it are refused by Wallet");
        } else if (now.plus(EXPIRY_WARNING).isAfter(after)) {
            out.add(what + " expires on " + after + " (in " + Duration.between(now, after).toDays() + " days); renew it");
        }
    }

    private static boolean matches(PrivateKey key, PublicKey pub) {
        String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        try {
            byte[] probe = "7stamp key check".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(pub);
            v.update(probe);
            return v.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    static List<X509Certificate> certificates(Path file, String key) {
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> out = new ArrayList<>();
            for (java.security.cert.Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new ConfigException(key + ": " + file + " holds no certificate");
            }
            return Collections.unmodifiableList(out);
        } catch (IOException | GeneralSecurityException e) {
            throw new ConfigException(key + ": " + file + " is not a certificate (PEM or DER): " + e.getMessage(), e);
        }
    }

    static PrivateKey privateKey(Path file) {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            if (o instanceof PEMKeyPair pair) {
                return converter.getKeyPair(pair).getPrivate();
            }
            if (o instanceof PrivateKeyInfo info) {
                return converter.getPrivateKey(info);
            }
            throw new ConfigException("wallet.apple.key: " + file + " is not an unencrypted PEM private key (found "
                    + (o == null ? "nothing" : o.getClass().getSimpleName()) + "); convert it with 'openssl pkcs8 -topk8 -nocrypt'");
        } catch (IOException e) {
            throw new ConfigException("wallet.apple.key: " + file + " cannot be read: " + e.getMessage(), e);
        }
    }
}
