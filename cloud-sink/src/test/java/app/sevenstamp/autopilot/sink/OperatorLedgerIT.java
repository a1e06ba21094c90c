package app.sevenstamp.autopilot.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.sink.cli.SinkCli;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operator's ledger commands against a running sink: undo, adjust, refusal, and the token. */
@Tag("quick")
class OperatorLedgerIT {
    private static final String TOKEN = "test-admin-token-0123456789abcdef";

    @TempDir
    Path dir;

    private record Result(int status, String out, String err) {
    }

    private Result cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new SinkCli(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void anOperatorUndoesAStampAndAdjustsACardThroughTheRunningSink() throws Exception {
        TestSink config = TestSink.in(dir).vectorKey().program("coffee", 10).set("admin.token", TOKEN);
        try (SinkServer sink = config.start()) {
            // the operator's commands read the sink's own file; it now names the port the sink took
            Path cliConfig = config.set("http.port", Integer.toString(sink.httpPort())).write();

            StampAck ack = VectorStore.stampGoldenEvent(sink.brokerUrl(), "it-operator");
            assertEquals(AckOutcome.ACCEPTED, ack.outcome());

            Result undo = cli("ledger", "undo", "--card", "ABCDEFGHJKMNPQRS", "--reason", "scanned twice",
                    "--operator", "ana", "--config", cliConfig.toString());
            assertEquals(SinkCli.OK, undo.status(), undo.err());
            assertTrue(undo.out().contains("\"stamps\":0"), undo.out());

            Result again = cli("ledger", "undo", "--card", "ABCDEFGHJKMNPQRS", "--reason", "again", "--config",
                    cliConfig.toString());
            assertEquals(SinkCli.REFUSED, again.status());
            assertTrue(again.err().contains("card ABCDEFGHJKMNPQRS has no stamp left to undo"), again.err());

            Result adjust = cli("ledger", "adjust", "--card", "ABCDEFGHJKMNPQRS", "--stamps", "3", "--reason",
                    "paper card", "--config", cliConfig.toString());
            assertEquals(SinkCli.OK, adjust.status(), adjust.err());
            assertTrue(adjust.out().contains("\"stamps\":3"), adjust.out());

            Result show = cli("ledger", "show", "--card", "ABCDEFGHJKMNPQRS", "--config", cliConfig.toString());
            assertEquals(SinkCli.OK, show.status(), show.err());
            for (String type : new String[] {"\"STAMP\"", "\"UNDO\"", "\"ADJUST\""}) {
                assertTrue(show.out().contains(type), show.out());
            }
            assertTrue(show.out().contains("\"note\":\"scanned twice\"") && show.out().contains("\"actor\":\"operator:ana\""),
                    show.out());

            HttpResponse<String> noToken = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:" + sink.httpPort() + "/api/v1/admin/cards/ABCDEFGHJKMNPQRS/ledger")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(401, noToken.statusCode());
        }
    }
    /**
     * Issue 12, item 5: {@code "stamps": 4294967297} was read as 1 (truncated to an int) and applied.
     * An amount outside -1000..1000 (the CLI's range) or not a whole number is refused, and nothing changes.
     */
    @Test
    void anAdjustmentOutOfRangeIsRefusedNotTruncated() throws Exception {
        try (SinkServer sink = TestSink.in(dir).vectorKey().program("coffee", 10).set("admin.token", TOKEN).start()) {
            assertEquals(AckOutcome.ACCEPTED, VectorStore.stampGoldenEvent(sink.brokerUrl(), "it-adjust").outcome());
            URI adjust = URI.create("http://127.0.0.1:" + sink.httpPort() + "/api/v1/admin/cards/ABCDEFGHJKMNPQRS/adjust");
            for (String amount : new String[] {"\"stamps\":4294967297", "\"stamps\":1001", "\"rewards\":-1001",
                    "\"stamps\":1.5", "\"stamps\":\"3\""}) {
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(adjust)
                        .header("Authorization", "Bearer " + TOKEN)
                        .POST(HttpRequest.BodyPublishers.ofString("{" + amount + ",\"reason\":\"test\"}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(400, r.statusCode(), amount + ": " + r.body());
                String field = amount.substring(1, amount.indexOf('"', 1));
                assertEquals("{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400,\"detail\":\"" + field
                        + " must be a whole number from -1000 to 1000\"}", r.body(), amount);
            }
            assertEquals(1, sink.store().card("ABCDEFGHJKMNPQRS").orElseThrow().balance().stamps());
        }
    }
}
