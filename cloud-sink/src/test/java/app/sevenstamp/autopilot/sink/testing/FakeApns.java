package app.sevenstamp.autopilot.sink.testing;

import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.HTTP2Cipher;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Plays APNs: HTTP/2 only, over TLS, and only for a client whose certificate the test CA issued (as APNs
 * takes only Apple-issued pass certificates). Records every push; answers 200, or what the test set for a
 * device token (410 for an unregistered device, 500 for an outage).
 */
public final class FakeApns implements AutoCloseable {
    public record Push(String protocol, String path, String topic, String body, String clientCertificate) {
        public String deviceToken() {
            return path.substring("/3/device/".length());
        }
    }

    public final List<Push> pushes = new CopyOnWriteArrayList<>();
    public final Map<String, Integer> answers = new ConcurrentHashMap<>();
    public volatile int answerAll = 200;
    private final Server server;
    private final ServerConnector connector;

    public FakeApns(TestPki pki) throws Exception {
        server = new Server();
        HttpConfiguration cfg = new HttpConfiguration();
        cfg.addCustomizer(new SecureRequestCustomizer(false));
        HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(cfg);
        ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
        alpn.setDefaultProtocol(h2.getProtocol());
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("server", pki.serverKeys.getPrivate(), "pw".toCharArray(), new Certificate[] {pki.server, pki.ca});
        ssl.setKeyStore(keys);
        ssl.setKeyStorePassword("pw");
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", pki.ca);
        ssl.setTrustStore(trust);
        ssl.setNeedClientAuth(true);
        ssl.setCipherComparator(HTTP2Cipher.COMPARATOR);
        connector = new ServerConnector(server, new SslConnectionFactory(ssl, alpn.getProtocol()), alpn, h2);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                String body = Content.Source.asString(request, StandardCharsets.UTF_8);
                String subject = null;
                if (request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE) instanceof EndPoint.SslSessionData tls
                        && tls.peerCertificates() != null && tls.peerCertificates().length > 0) {
                    subject = tls.peerCertificates()[0].getSubjectX500Principal().getName();
                }
                Push p = new Push(request.getConnectionMetaData().getProtocol(), request.getHttpURI().getPath(),
                        request.getHeaders().get("apns-topic"), body, subject);
                pushes.add(p);
                int status = answers.getOrDefault(p.deviceToken(), answerAll);
                response.setStatus(status);
                String reason = status == 410 ? "{\"reason\":\"Unregistered\"}" : status == 200 ? "" : "{\"reason\":\"InternalServerError\"}";
                Content.Sink.write(response, true, reason, callback);
                return true;
            }
        });
        server.start();
    }

    public String url() {
        return "https://localhost:" + connector.getLocalPort();
    }

    public List<Push> to(String deviceToken) {
        return pushes.stream().filter(p -> p.deviceToken().equals(deviceToken)).toList();
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }
}
