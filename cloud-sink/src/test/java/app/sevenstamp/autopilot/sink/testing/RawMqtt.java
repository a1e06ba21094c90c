package app.sevenstamp.autopilot.sink.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * An MQTT 3.1.1 client written byte by byte, for what Paho will not send: a PUBLISH marked DUP on a
 * first send, as a stranger holding a login can. Reads only the fixed header and packet id of what
 * comes back.
 */
public final class RawMqtt implements AutoCloseable {
    private final Socket socket;
    private final OutputStream out;
    private final DataInputStream in;

    /** A received packet: its first byte and the rest. */
    public record Packet(int first, byte[] body) {
        public int type() {
            return (first & 0xF0) >> 4;
        }

        /** The packet id of a QoS 1 or 2 PUBLISH: after its topic. */
        public int publishId() {
            int at = 2 + (((body[0] & 0xFF) << 8) | (body[1] & 0xFF));
            return ((body[at] & 0xFF) << 8) | (body[at + 1] & 0xFF);
        }

        /** The packet id of a PUBACK, PUBREC, PUBREL or PUBCOMP. */
        public int packetId() {
            return ((body[0] & 0xFF) << 8) | (body[1] & 0xFF);
        }
    }

    public static final int CONNACK = 2;
    public static final int PUBLISH = 3;
    public static final int PUBACK = 4;
    public static final int PUBREC = 5;
    public static final int PUBCOMP = 7;
    public static final int SUBACK = 9;

    private RawMqtt(Socket socket) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        InputStream raw = socket.getInputStream();
        this.in = new DataInputStream(raw);
    }

    /**
     * Connects with a clean session; {@code user} null for an anonymous login.
     *
     * @throws AssertionError unless the broker answers CONNACK with return code 0
     */
    public static RawMqtt connect(String brokerUrl, String clientId, String user, String password) throws IOException {
        RawMqtt c = begin(brokerUrl, clientId, user, password);
        c.awaitConnack();
        return c;
    }

    /** Sends CONNECT (clean session) and returns without waiting for the answer: {@link #awaitConnack}. */
    public static RawMqtt begin(String brokerUrl, String clientId, String user, String password) throws IOException {
        URI url = URI.create(brokerUrl);
        RawMqtt c = new RawMqtt(new Socket(url.getHost(), url.getPort()));
        c.socket.setSoTimeout(10_000);
        int flags = 0x02 | (user == null ? 0 : 0xC0);
        byte[] login = user == null ? new byte[0] : concat(string(user), string(password));
        c.send(0x10, concat(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, (byte) flags, 0, 60}, string(clientId), login));
        return c;
    }

    /** @throws AssertionError unless the next packet is CONNACK with return code 0 */
    public void awaitConnack() throws IOException {
        Packet ack = read();
        if (ack.type() != CONNACK || ack.body()[1] != 0) {
            close();
            throw new AssertionError("CONNACK refused: first byte " + ack.first() + ", code " + ack.body()[1]);
        }
    }

    /** SUBSCRIBE to one topic filter; the SUBACK is the caller's to read. */
    public void subscribe(String filter, int qos, int packetId) throws IOException {
        send(0x82, concat(new byte[] {(byte) (packetId >> 8), (byte) packetId}, string(filter), new byte[] {(byte) qos}));
    }

    /** An ordinary PUBLISH at QoS 0. */
    public void publish(String topic, byte[] payload) throws IOException {
        send(0x30, concat(string(topic), payload));
    }

    /** PUBACK for a QoS 1 publish the broker sent. */
    public void puback(int packetId) throws IOException {
        send(0x40, new byte[] {(byte) (packetId >> 8), (byte) packetId});
    }

    /** An ordinary PUBLISH at QoS 1 with this packet id; the PUBACK is the caller's to read (or not). */
    public void publishQos1(String topic, int packetId, byte[] payload) throws IOException {
        send(0x32, concat(string(topic), new byte[] {(byte) (packetId >> 8), (byte) packetId}, payload));
    }

    /** A PUBLISH marked DUP, QoS 1 or 2, with this packet id. */
    public void publishDup(String topic, int qos, int packetId, byte[] payload) throws IOException {
        send(0x30 | 0x08 | (qos << 1), concat(string(topic), new byte[] {(byte) (packetId >> 8), (byte) packetId}, payload));
    }

    /** PUBREL for a QoS 2 publish the broker answered with PUBREC. */
    public void pubrel(int packetId) throws IOException {
        send(0x62, new byte[] {(byte) (packetId >> 8), (byte) packetId});
    }

    /** The next packet, waiting at most the socket's 10 s. */
    public Packet read() throws IOException {
        int first = in.read();
        if (first < 0) {
            throw new IOException("the broker closed the connection");
        }
        int length = 0;
        int shift = 0;
        int b;
        do {
            b = in.readUnsignedByte();
            length |= (b & 0x7F) << shift;
            shift += 7;
        } while ((b & 0x80) != 0);
        byte[] body = new byte[length];
        in.readFully(body);
        return new Packet(first, body);
    }

    private void send(int first, byte[] rest) throws IOException {
        ByteArrayOutputStream packet = new ByteArrayOutputStream();
        packet.write(first);
        int length = rest.length;
        do {
            int digit = length % 128;
            length /= 128;
            packet.write(length > 0 ? digit | 0x80 : digit);
        } while (length > 0);
        packet.writeBytes(rest);
        out.write(packet.toByteArray());
        out.flush();
    }

    /** An MQTT UTF-8 string: two bytes of length, then the bytes. */
    private static byte[] string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return concat(new byte[] {(byte) (b.length >> 8), (byte) b.length}, b);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            all.writeBytes(p);
        }
        return all.toByteArray();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
