package app.sevenstamp.autopilot.sink.cli;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.fleet.SinkApiClient;
import app.sevenstamp.autopilot.sink.voucher.VoucherImages;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code vouchers issue|show|list}: goodwill vouchers and lookups through the RUNNING sink's operator API
 * ({@code admin.token} from the same config file), so that a voucher takes its till code from the pool in
 * the sink's own transaction. {@code --qr} and {@code --code128} write the code as PNG files, drawn here.
 */
final class VoucherCommand {
    static final String USAGE = String.join("\n",
            "  vouchers issue --title TEXT --reason TEXT [--card ID | --card-code CODE] [--valid 30d] [--from DATE]",
            "                 [--location L] [--operator NAME] [--qr FILE.png] [--code128 FILE.png] --config FILE",
            "      issue a one-time goodwill voucher (bound to a card, or free-standing); prints its code. --card needs",
            "      a card with stamps; --card-code (or --card) with the card's scanned code (7S1....) also works for a",
            "      new card: the sink verifies the code and creates the card with 0 stamps",
            "  vouchers show CODE [--qr FILE.png] [--code128 FILE.png] --config FILE",
            "      print the voucher as JSON (state, validity, till code); optionally write its images",
            "  vouchers list [--card ID] --config FILE",
            "      print the newest vouchers (or the card's) as JSON");

    private final PrintStream out;
    private final PrintStream err;
    private final ObjectMapper json = new ObjectMapper();

    VoucherCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(Args a, SinkConfig config) throws UsageException, IOException, InterruptedException {
        if (a.words().isEmpty()) {
            throw new UsageException("'vouchers' needs one subcommand: issue, show or list");
        }
        String sub = a.words().get(0);
        String base = "/api/v1/vouchers";
        String method = "GET";
        String path;
        ObjectNode body = null;
        switch (sub) {
            case "issue" -> {
                words(a, 1, "vouchers issue");
                body = json.createObjectNode();
                body.put("title", a.required("title", "TEXT"));
                body.put("reason", a.required("reason", "TEXT"));
                String card = a.option("card");
                String cardCode = a.option("card-code");
                // a scanner types the card's code where the operator expected an id: that is what --card-code is for
                if (card != null && cardCode == null && card.startsWith(CardCode.MAGIC + ".")) {
                    cardCode = card;
                    card = null;
                }
                putIf(body, "cardId", card);
                putIf(body, "cardCode", cardCode);
                putIf(body, "valid", a.option("valid"));
                putIf(body, "from", a.option("from"));
                putIf(body, "location", a.option("location"));
                body.put("operator", a.option("operator") == null ? System.getProperty("user.name", "admin")
                        : a.option("operator"));
                method = "POST";
                path = base;
            }
            case "show" -> {
                words(a, 2, "vouchers show CODE");
                Optional<VoucherCode> code = VoucherCode.parse(a.words().get(1));
                if (code.isEmpty()) {
                    err.println("autopilot-sink: '" + a.words().get(1) + "' is not a voucher code (7V-XXXX-XXXX-XXXX-XXXX; "
                            + "the last character is a check character)");
                    return SinkCli.USAGE;
                }
                path = base + "/" + code.get().text();
            }
            case "list" -> {
                words(a, 1, "vouchers list");
                String card = a.option("card");
                path = card == null ? base : base + "?card=" + URLEncoder.encode(card, StandardCharsets.UTF_8);
            }
            default -> throw new UsageException("unknown vouchers subcommand '" + sub + "'; use issue, show or list");
        }
        SinkApiClient.Answer response = new SinkApiClient(config, null, null).send(method, path, body);
        int status = response.status();
        if (status != 200 && status != 201) {
            err.println("autopilot-sink: the sink answered " + status + ": " + response.text());
            return status == 409 ? SinkCli.REFUSED : status == 404 ? 1 : SinkCli.IO;
        }
        if (sub.equals("list")) {
            out.println(response.text());
            return SinkCli.OK;
        }
        VoucherCode code = VoucherCode.parse(response.json().path("code").asText()).orElseThrow(() -> new IOException(
                "the sink answered without a voucher code: " + response.text()));
        images(a, code);
        out.println(sub.equals("issue") ? code.text() : response.text());
        return SinkCli.OK;
    }

    private void images(Args a, VoucherCode code) throws IOException {
        for (VoucherImages.Kind kind : VoucherImages.Kind.values()) {
            String file = a.option(kind == VoucherImages.Kind.QR ? "qr" : "code128");
            if (file != null) {
                Path target = Path.of(file).toAbsolutePath();
                if (target.getParent() != null) {
                    Files.createDirectories(target.getParent());
                }
                Files.write(target, VoucherImages.png(code, kind));
            }
        }
    }

    private static void putIf(ObjectNode body, String name, String value) {
        if (value != null) {
            body.put(name, value);
        }
    }

    private static void words(Args a, int expected, String command) throws UsageException {
        if (a.words().size() != expected) {
            throw new UsageException("'" + command + "' takes " + (expected - 1) + " argument(s), got "
                    + (a.words().size() - 1));
        }
    }
}
