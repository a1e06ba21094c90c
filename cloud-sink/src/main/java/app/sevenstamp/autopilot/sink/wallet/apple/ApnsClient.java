package app.sevenstamp.autopilot.sink.wallet.apple;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Apple Push Notification service for Wallet passes: an empty JSON payload, {@code apns-topic} = the pass
 * type id, over HTTP/2 and TLS with the Pass Type ID certificate as the client certificate (the JDK's
 * HttpClient negotiates h2 by ALPN and keeps one connection open for all pushes). The phone answers a push
 * by asking the web service what changed. Thread-safe.
 */
final class ApnsClient {
    /** What APNs said of one device token. */
    enum Outcome {
        SENT,
        /** 410, or 400 BadDeviceToken: the device is gone; its registrations are dropped. */
        UNREGISTERED,
        /** Anything else (5xx, 429, a network error): try again later. */
        FAILED
    }

    record Answer(Outcome outcome, String detail) {
    }

    private static final Pattern TOKEN = Pattern.compile("[0-9A-Za-z]{1,200}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final String topic;
    private final HttpClient http;

    ApnsClient(URI base, String topic, PassCredentials credentials, Path trustedCa) {
        this.base = base;
        this.topic = topic;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(10))
                .sslContext(tls(credentials, trustedCa)).build();
    }

    Answer push(String deviceToken) throws InterruptedException {
        if (!TOKEN.matcher(deviceToken).matches()) {
            return new Answer(Outcome.UNREGISTERED, "not a device token");
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/3/device/" + deviceToken))
                .timeout(Duration.ofSeconds(15))
                .header("apns-topic", topic)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build();
        HttpResponse<String> r;
        try {
            r = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return new Answer(Outcome.FAILED, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        String reason = reason(r.body());
        if (r.statusCode() == 200) {
            return new Answer(Outcome.SENT, "200");
        }
        if (r.statusCode() == 410 || (r.statusCode() == 400 && "BadDeviceToken".equals(reason))) {
            return new Answer(Outcome.UNREGISTERED, r.statusCode() + " " + reason);
        }
        return new Answer(Outcome.FAILED, "HTTP " + r.statusCode() + (reason == null ? "" : " " + reason)
                + (r.version() == HttpClient.Version.HTTP_2 ? "" : " (not HTTP/2)"));
    }

    private static String reason(String body) {
        try {
            JsonNode n = body == null || body.isEmpty() ? null : JSON.readTree(body);
            return n != null && n.has("reason") ? n.get("reason").asText() : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The pass certificate (and WWDR, its chain) as client certificate; the JVM's CAs or the given one as trust. */
    private static SSLContext tls(PassCredentials credentials, Path trustedCa) {
        try {
            char[] pw = new char[0];
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("pass", credentials.key(), pw, new Certificate[] {credentials.certificate(), credentials.wwdr()});
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, pw);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            if (trustedCa == null) {
                tmf.init((KeyStore) null);
            } else {
                KeyStore trust = KeyStore.getInstance("PKCS12");
                trust.load(null, null);
                try (InputStream in = Files.newInputStream(trustedCa)) {
                    int i = 0;
                    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                        trust.setCertificateEntry("ca" + i++, c);
                    }
                }
                tmf.init(trust);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot set up TLS for APNs with the pass certificate: " + e.getMessage(), e);
        }
    }
}
