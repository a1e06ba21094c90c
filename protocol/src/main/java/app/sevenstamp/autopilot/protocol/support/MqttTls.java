package app.sevenstamp.autopilot.protocol.support;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.net.SocketFactory;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS to the MQTT broker for both the gateway and the sink: the broker's CA (PEM) and optionally a
 * client certificate and its key (PEM, PKCS#8, RSA or EC), read and checked once at start so that a
 * wrong file stops the start with a message naming the key. Immutable.
 *
 * <p>Keys, under a prefix ({@code mqtt.tls.}): {@code ca}, {@code cert}, {@code key}. Without
 * {@code ca} an {@code ssl://} URL trusts the JVM's CA store (a broker with a public certificate).
 *
 * <p>A broker certificate that the CA did not sign fails the handshake with a message that says so
 * ({@code mqtt.tls.ca: the broker's certificate ... is not signed by ...}) instead of JSSE's "PKIX path
 * building failed"; {@link #explain(Throwable)} finds it in Paho's exception chain for the log line.
 */
public final class MqttTls {
    /** No TLS files: plain TCP, or for ssl:// the JVM's own trust store. */
    public static final MqttTls NONE = new MqttTls(null, null, null, null, null);

    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
    private static final String PKCS8_HINT = "convert it with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8";

    private final Path ca;
    private final Path cert;
    private final Path key;
    private final String caSubjects;
    private final SSLSocketFactory factory;

    private MqttTls(Path ca, Path cert, Path key, String caSubjects, SSLSocketFactory factory) {
        this.ca = ca;
        this.cert = cert;
        this.key = key;
        this.caSubjects = caSubjects;
        this.factory = factory;
    }

    /**
     * Reads {@code <prefix>ca}, {@code <prefix>cert} and {@code <prefix>key}, checks them against the
     * broker URL read from {@code urlKey}, and builds the TLS context.
     *
     * @throws ConfigException naming the key when a file is missing, unreadable or does not parse
     */
    public static MqttTls from(Settings s, String prefix, String urlKey, String url) {
        String caKey = prefix + "ca";
        String certKey = prefix + "cert";
        String keyKey = prefix + "key";
        String caText = s.string(caKey, null);
        String certText = s.string(certKey, null);
        String keyText = s.string(keyKey, null);
        if (caText == null && certText == null && keyText == null) {
            return NONE;
        }
        boolean secure = url.regionMatches(true, 0, "ssl://", 0, 6) || url.regionMatches(true, 0, "wss://", 0, 6);
        if (!secure) {
            String first = caText != null ? caKey : certText != null ? certKey : keyKey;
            throw new ConfigException(first + ": set, but " + urlKey + " '" + url + "' is not a TLS URL; use ssl://HOST:PORT"
                    + " (Mosquitto's TLS listener is usually port 8883)");
        }
        if ((certText == null) != (keyText == null)) {
            throw new ConfigException(certText == null
                    ? certKey + ": missing; " + keyKey + " is set, and a client key needs its certificate"
                    : keyKey + ": missing; " + certKey + " is set, and a client certificate needs its private key (PEM, PKCS#8)");
        }
        try {
            Path caPath = caText == null ? null : Path.of(caText);
            List<X509Certificate> cas = caPath == null ? List.of() : certificates(caKey, caPath);
            TrustManager[] trust = trustManagers(caKey, caPath, cas);
            KeyManager[] keys = null;
            Path certPath = null;
            Path keyPath = null;
            if (certText != null) {
                certPath = Path.of(certText);
                keyPath = Path.of(keyText);
                List<X509Certificate> chain = certificates(certKey, certPath);
                PrivateKey privateKey = privateKey(keyKey, keyPath);
                checkPair(certKey, keyKey, chain.get(0), privateKey);
                keys = keyManagers(chain, privateKey);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, trust, new SecureRandom());
            String subjects = cas.stream().map(c -> c.getSubjectX500Principal().getName()).collect(Collectors.joining("; "));
            return new MqttTls(caPath, certPath, keyPath, subjects, context.getSocketFactory());
        } catch (GeneralSecurityException e) {
            throw new ConfigException(prefix + "*: the JVM cannot set up TLS: " + e.getMessage(), e);
        } catch (java.nio.file.InvalidPathException e) {
            throw new ConfigException(prefix + "*: not a file path: " + e.getMessage(), e);
        }
    }

    /** True when a CA or client certificate is configured. */
    public boolean configured() {
        return factory != null;
    }

    /**
     * Paho's socket factory for the URL, TCP_NODELAY on ({@link NoDelaySockets}); for ssl:// with
     * this CA and client certificate when configured, else the JVM's default.
     */
    public SocketFactory socketFactory(String url) {
        return NoDelaySockets.forUrl(url, factory);
    }

    /** For the start log line: {@code ca=/etc/... client-cert=/etc/...} or {@code jvm-default-trust}. */
    public String describe() {
        if (factory == null) {
            return "jvm-default-trust";
        }
        return (ca == null ? "jvm-default-trust" : "ca=" + ca) + (cert == null ? "" : " client-cert=" + cert + " key=" + key);
    }

    /**
     * The TLS message of ours inside a connect failure (the CA check), or null when the failure had
     * another cause. Paho wraps it: MqttException -> SSLHandshakeException -> our CertificateException.
     */
    public static String explain(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof UntrustedBroker) {
                return t.getMessage();
            }
        }
        return null;
    }

    private static List<X509Certificate> certificates(String key, Path file) {
        byte[] bytes = read(key, file);
        Collection<? extends Certificate> parsed;
        try {
            parsed = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes));
        } catch (CertificateException e) {
            throw new ConfigException(key + ": '" + file + "' is not a PEM certificate file: " + e.getMessage(), e);
        }
        List<X509Certificate> out = new ArrayList<>();
        for (Certificate c : parsed) {
            out.add((X509Certificate) c);
        }
        if (out.isEmpty()) {
            throw new ConfigException(key + ": '" + file + "' holds no certificate; expected PEM "
                    + "(-----BEGIN CERTIFICATE-----)");
        }
        return out;
    }

    private static PrivateKey privateKey(String key, Path file) {
        String text = new String(read(key, file), StandardCharsets.US_ASCII);
        Matcher m = PEM.matcher(text);
        if (!m.find()) {
            throw new ConfigException(key + ": '" + file + "' is not a PEM private key; expected -----BEGIN PRIVATE KEY-----");
        }
        String type = m.group(1);
        if (!type.equals("PRIVATE KEY")) {
            throw new ConfigException(key + ": '" + file + "' is a '" + type + "'; only unencrypted PKCS#8 "
                    + "(-----BEGIN PRIVATE KEY-----) is read; " + PKCS8_HINT);
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(m.group(2));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key + ": '" + file + "' has broken base64: " + e.getMessage(), e);
        }
        for (String algorithm : List.of("RSA", "EC")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (InvalidKeySpecException e) {
                // not this algorithm; try the next
            } catch (GeneralSecurityException e) {
                throw new ConfigException(key + ": the JVM cannot read " + algorithm + " keys: " + e.getMessage(), e);
            }
        }
        throw new ConfigException(key + ": '" + file + "' is neither an RSA nor an EC key (PKCS#8)");
    }

    /** A key that does not belong to the certificate would fail only at the broker, with an unhelpful alert. */
    private static void checkPair(String certKey, String keyKey, X509Certificate cert, PrivateKey key) {
        String algorithm = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        byte[] probe = "7stamp key check".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(probe);
            if (verifier.verify(signature)) {
                return;
            }
        } catch (GeneralSecurityException e) {
            // a key of another algorithm than the certificate's: reported below
        }
        throw new ConfigException(keyKey + ": the key does not belong to the certificate in " + certKey + " ("
                + cert.getSubjectX500Principal().getName() + ")");
    }

    private static TrustManager[] trustManagers(String caKey, Path caPath, List<X509Certificate> cas)
            throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        if (caPath == null) {
            tmf.init((KeyStore) null);
            return tmf.getTrustManagers();
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        try {
            store.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        for (int i = 0; i < cas.size(); i++) {
            store.setCertificateEntry("ca-" + i, cas.get(i));
        }
        tmf.init(store);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509ExtendedTrustManager x509) {
                String subjects = cas.stream().map(c -> c.getSubjectX500Principal().getName())
                        .collect(Collectors.joining("; "));
                return new TrustManager[] {new ExplainingTrustManager(x509, caKey, caPath, subjects)};
            }
        }
        throw new GeneralSecurityException("no X509 trust manager");
    }

    private static KeyManager[] keyManagers(List<X509Certificate> chain, PrivateKey key) throws GeneralSecurityException {
        char[] password = new char[0];
        KeyStore store = KeyStore.getInstance("PKCS12");
        try {
            store.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        store.setKeyEntry("client", key, password, chain.toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, password);
        return kmf.getKeyManagers();
    }

    private static byte[] read(String key, Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(key + ": '" + file + "' does not exist");
        } catch (IOException e) {
            throw new ConfigException(key + ": '" + file + "' cannot be read: " + e, e);
        }
    }

    /** The trust failure, worded for the operator; {@link #explain} looks for this type. */
    static final class UntrustedBroker extends CertificateException {
        private static final long serialVersionUID = 1L;

        UntrustedBroker(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Delegates every check to the JDK's PKIX trust manager (hostname verification included) and
     * rewords only its "PKIX path building failed": the first thing an operator must know is which
     * file to fix.
     */
    private static final class ExplainingTrustManager extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager delegate;
        private final String caKey;
        private final Path caPath;
        private final String caSubjects;

        ExplainingTrustManager(X509ExtendedTrustManager delegate, String caKey, Path caPath, String caSubjects) {
            this.delegate = delegate;
            this.caKey = caKey;
            this.caPath = caPath;
            this.caSubjects = caSubjects;
        }

        /** Chain first, without the host name: so that a wrong CA is told apart from a wrong host name. */
        private void checkChain(X509Certificate[] chain, String authType) throws CertificateException {
            try {
                delegate.checkServerTrusted(chain, authType);
            } catch (CertificateException e) {
                X509Certificate leaf = chain.length == 0 ? null : chain[0];
                throw new UntrustedBroker(caKey + ": the broker's certificate ("
                        + (leaf == null ? "none" : leaf.getSubjectX500Principal().getName() + ", issued by "
                        + leaf.getIssuerX500Principal().getName())
                        + ") is not signed by the CA in " + caPath + " (" + caSubjects + "); set " + caKey
                        + " to the CA that signed the broker's certificate", e);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            checkChain(chain, authType);
            delegate.checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            checkChain(chain, authType);
            delegate.checkServerTrusted(chain, authType, engine);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            checkChain(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            delegate.checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            delegate.checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            delegate.checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return delegate.getAcceptedIssuers();
        }
    }

    @Override
    public String toString() {
        return "MqttTls[" + describe() + (caSubjects == null || caSubjects.isEmpty() ? "" : " (" + caSubjects + ")") + "]";
    }
}
