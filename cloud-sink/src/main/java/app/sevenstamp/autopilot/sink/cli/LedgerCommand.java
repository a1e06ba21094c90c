package app.sevenstamp.autopilot.sink.cli;

import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.fleet.SinkApiClient;
import app.sevenstamp.autopilot.sink.store.CardCorrections;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;

/**
 * {@code ledger adjust|undo|show}: the operator's corrections, sent to the RUNNING sink's admin
 * routes (so they take the same card locks as the ingest, on H2 as on PostgreSQL), authenticated
 * with {@code admin.token} from the same config file.
 */
final class LedgerCommand {
    static final String USAGE = String.join("\n",
            "  ledger adjust --card ID [--stamps N] [--rewards M] --reason TEXT [--operator NAME] --config FILE",
            "      add (or with negative numbers remove) stamps and rewards on a card, with a reason",
            "  ledger undo --card ID --reason TEXT [--operator NAME] --config FILE",
            "      take back the card's last stamp (and the reward it earned)",
            "  ledger show --card ID --config FILE",
            "      print the card's ledger as JSON",
            "  (the ledger commands talk to the running sink at http.host:http.port and need admin.token)");

    private final PrintStream out;
    private final PrintStream err;
    private final ObjectMapper json = new ObjectMapper();

    LedgerCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(Args a, SinkConfig config) throws UsageException, IOException, InterruptedException {
        if (a.words().size() != 1) {
            throw new UsageException("'ledger' needs one subcommand: adjust, undo or show");
        }
        String sub = a.words().get(0);
        String card = a.required("card", "ID");
        String path = "/api/v1/admin/cards/" + card + "/";
        SinkApiClient.Answer answer;
        switch (sub) {
            case "adjust", "undo" -> {
                ObjectNode body = json.createObjectNode();
                body.put("reason", a.required("reason", "TEXT"));
                body.put("operator", a.option("operator") == null ? System.getProperty("user.name", "admin")
                        : a.option("operator"));
                if (sub.equals("adjust")) {
                    body.put("stamps", a.integer("stamps", 0, -CardCorrections.MAX_ADJUST, CardCorrections.MAX_ADJUST));
                    body.put("rewards", a.integer("rewards", 0, -CardCorrections.MAX_ADJUST, CardCorrections.MAX_ADJUST));
                }
                answer = new SinkApiClient(config, null, null).send("POST", path + sub, body);
            }
            case "show" -> answer = new SinkApiClient(config, null, null).send("GET", path + "ledger", null);
            default -> throw new UsageException("unknown ledger subcommand '" + sub + "'; use adjust, undo or show");
        }
        if (answer.status() == 200) {
            out.println(answer.text());
            return SinkCli.OK;
        }
        err.println("autopilot-sink: the sink answered " + answer.status() + ": " + answer.text());
        return answer.status() == 409 ? SinkCli.REFUSED : SinkCli.IO;
    }
}
