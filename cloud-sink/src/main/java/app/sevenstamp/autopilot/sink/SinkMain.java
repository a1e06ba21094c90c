package app.sevenstamp.autopilot.sink;

import app.sevenstamp.autopilot.sink.cli.SinkCli;

/**
 * {@code java -jar autopilot-sink.jar <command> --config FILE}; see {@link SinkCli} for the
 * commands and exit statuses.
 */
public final class SinkMain {
    private SinkMain() {
    }

    public static void main(String[] args) {
        int status = new SinkCli(System.out, System.err).run(args);
        boolean served = args.length > 0 && args[0].equals("serve") && status == SinkCli.OK;
        // After serve the JVM is already shutting down (System.exit would block in a shutdown);
        // every other command exits with its status.
        if (!served) {
            System.exit(status);
        }
    }
}
