package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.voucher.RedeemResponder;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.SocatPty;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Vouchers at the counter on the real parts: scans typed into a socat pty, read by the real gateway jar, asked
 * of a Paho client answering as the sink's redeem service through a Mosquitto subprocess; the counter's
 * console feedback read from the gateway's stdout. (The sink's own redeem service is tested on its side.)
 */
class VoucherAtTheCounterIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void voucherIsRedeemedOnceAndCannotBeCheckedWhileTheBrokerIsDown() throws Exception {
        SecureRandom random = new SecureRandom();
        String code = VoucherCode.random(random).text();
        try (MosquittoProcess mosquitto = MosquittoProcess.start(dir.resolve("mosquitto"));
             RedeemResponder responder = new RedeemResponder(mosquitto.url());
             SocatPty pty = SocatPty.start(dir, "scanner");
             GatewayProcess gateway = GatewayProcess.start(gatewayConfig(mosquitto.url(), pty.devicePath()),
                     dir.resolve("gateway.log"))) {
            responder.issue(code, "Free coffee", "POS-4711");
            gateway.awaitLog("gateway ready", WAIT);
            gateway.awaitLog("uplink ready", WAIT);

            pty.scan(code);
            String ok = gateway.awaitLine(l -> !l.startsWith("ACCEPTED"), WAIT, "VOUCHER_OK");
            assertTrue(ok.startsWith("VOUCHER_OK voucher=" + code + " title=\"Free coffee\" posCode=POS-4711 ms="), ok);
            org.tinylog.Logger.info("gateway jar via Mosquitto: scan to VOUCHER_OK {}", ok.substring(ok.indexOf("ms=")));

            pty.scan(code); // the same voucher again
            String again = gateway.awaitLine(l -> true, WAIT, "REJECTED for a used voucher");
            assertEquals("REJECTED reason=ALREADY_REDEEMED voucher=" + code, again);

            String damaged = code.substring(0, code.length() - 1) + (code.endsWith("7") ? "8" : "7");
            pty.scan(damaged);
            assertEquals("REJECTED reason=MALFORMED kind=voucher", gateway.awaitLine(l -> true, WAIT, "MALFORMED"));

            pty.scan(Vectors.cardText("valid"));
            assertTrue(gateway.awaitLine(l -> true, WAIT, "ACCEPTED").startsWith("ACCEPTED card="),
                    "a card after vouchers is a stamp as always");
            assertEquals(2, responder.received().size(), "the damaged voucher never left the box");

            mosquitto.stop(false);
            await().atMost(WAIT).until(() -> gateway.log().contains("lost the connection"));
            String other = VoucherCode.random(random).text();
            pty.scan(other);
            assertEquals("CANNOT_CHECK voucher=" + other + " reason=OFFLINE",
                    gateway.awaitLine(l -> true, WAIT, "CANNOT_CHECK"));
            assertTrue(gateway.isAlive());
            assertTrue(responder.received().stream().map(RedeemRequest::voucherCode).noneMatch(other::equals));
        }
    }

    private Path gatewayConfig(String brokerUrl, Path port) throws IOException {
        return GatewayProps.counter("voucher-counter", Vectors.trustedKey(), dir.resolve("outbox"), brokerUrl)
                .set("device.location", "test-shop").serialScanner(port).set("scanner.debounce", "0ms")
                .set("vouchers.answerTimeout", "5s").write(dir.resolve("gateway.properties"));
    }
}
