package app.sevenstamp.autopilot.sink.cli;

import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.fleet.SinkApiClient;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * {@code operators add NAME --role owner|manager|staff [--locations a,b]} and {@code operators list}: console
 * accounts, through the running sink's HTTP API with the operator's token, so only someone who can read
 * the token file (the sink's machine) makes the first owner. The password is asked for twice on a
 * terminal, or read as one line from standard input (for scripts); it never appears in the arguments,
 * where {@code ps} would show it.
 */
final class OperatorCommand {
    static final String USAGE = String.join("\n",
            "  operators add NAME --role owner|manager|staff [--locations L1,L2] --config FILE | operators list --config FILE",
            "      console accounts (the password is asked for, or read from standard input); managers need locations");

    private final PrintStream out;
    private final PrintStream err;
    private final InputStream in;
    private final ObjectMapper json = new ObjectMapper();

    OperatorCommand(PrintStream out, PrintStream err, InputStream in) {
        this.out = out;
        this.err = err;
        this.in = in;
    }

    int run(Args a, SinkConfig config) throws UsageException, IOException, InterruptedException {
        if (a.words().isEmpty() || !(a.words().get(0).equals("add") || a.words().get(0).equals("list"))) {
            throw new UsageException("'operators' needs a subcommand: add NAME --role ROLE, or list");
        }
        SinkApiClient api = new SinkApiClient(config, null, null);
        SinkApiClient.Answer answer;
        if (a.words().get(0).equals("add")) {
            if (a.words().size() != 2) {
                throw new UsageException("'operators add' needs the account's NAME");
            }
            ObjectNode body = json.createObjectNode();
            body.put("name", a.words().get(1));
            body.put("role", a.required("role", "owner|manager|staff"));
            String where = a.option("locations");
            var list = body.putArray("locations");
            if (where != null) {
                Arrays.stream(where.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(list::add);
            }
            body.put("password", password());
            answer = api.send("POST", "/api/v1/operators", body);
        } else {
            answer = api.send("GET", "/api/v1/operators", null);
        }
        if (answer.ok()) {
            out.println(answer.text());
            return SinkCli.OK;
        }
        err.println("autopilot-sink: the sink answered " + answer.status() + ": " + answer.detail());
        return answer.status() == 409 ? SinkCli.REFUSED : SinkCli.USAGE;
    }

    private String password() throws IOException, UsageException {
        java.io.Console console = System.console();
        if (console != null && in == System.in) {
            char[] first = console.readPassword("Password (at least 12 characters): ");
            char[] again = console.readPassword("Again: ");
            if (first == null || again == null || !Arrays.equals(first, again)) {
                throw new UsageException("the two passwords differ");
            }
            return new String(first);
        }
        String line = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine();
        if (line == null || line.isEmpty()) {
            throw new UsageException("no password on standard input (one line is expected)");
        }
        return line;
    }
}
