package app.sevenstamp.autopilot.protocol.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import javax.net.SocketFactory;
import javax.net.ssl.SSLSocketFactory;

/**
 * Socket factories that switch Nagle's algorithm off. Paho leaves it on, and writes an MQTT
 * packet's header and payload in separate writes: the payload then waits for the broker's delayed
 * ACK of the header, about 40 ms per message on Linux, for every stamp and every answer. Paho
 * creates its sockets unconnected through {@link SocketFactory#createSocket()}, which is where the
 * option is set. Public because every Paho client wants it, the test clients included.
 */
public final class NoDelaySockets {
    private NoDelaySockets() {
    }

    /** The factory for a broker URL, or null (Paho's default) for schemes Paho connects otherwise. */
    public static SocketFactory forUrl(String brokerUrl) {
        return forUrl(brokerUrl, null);
    }

    /**
     * As {@link #forUrl(String)}, with {@code tls} (for example {@link MqttTls}'s CA and client
     * certificate) for ssl:// instead of the JVM's default; null means the default.
     */
    public static SocketFactory forUrl(String brokerUrl, SSLSocketFactory tls) {
        if (brokerUrl.startsWith("tcp://")) {
            return new Plain();
        }
        if (brokerUrl.startsWith("ssl://")) {
            return new Tls(tls != null ? tls : (SSLSocketFactory) SSLSocketFactory.getDefault());
        }
        return null;
    }

    private static <S extends Socket> S noDelay(S socket) throws IOException {
        socket.setTcpNoDelay(true);
        return socket;
    }

    private static final class Plain extends SocketFactory {
        @Override
        public Socket createSocket() throws IOException {
            return noDelay(new Socket());
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return noDelay(new Socket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return noDelay(new Socket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return noDelay(new Socket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
            return noDelay(new Socket(address, port, localAddress, localPort));
        }
    }

    /** Paho requires an {@link SSLSocketFactory} for ssl:// URLs; this one delegates to the JVM's default. */
    private static final class Tls extends SSLSocketFactory {
        private final SSLSocketFactory delegate;

        Tls(SSLSocketFactory delegate) {
            this.delegate = delegate;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return delegate.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return delegate.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket() throws IOException {
            return noDelay(delegate.createSocket());
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return noDelay(delegate.createSocket(s, host, port, autoClose));
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return noDelay(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return noDelay(delegate.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return noDelay(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
            return noDelay(delegate.createSocket(address, port, localAddress, localPort));
        }
    }
}
