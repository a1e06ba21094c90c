package app.sevenstamp.autopilot.sink.store;

import java.sql.SQLException;

/**
 * Told of each ledger line the ingest appends, inside the same transaction, so that another part
 * can write what follows from it atomically with it: an earned reward becomes a voucher in the
 * transaction that earned it (see {@code voucher.VoucherIssuer}). {@code CardCorrections} tells it of its
 * UNDO and ADJUST lines too, after the card row is saved.
 */
@FunctionalInterface
public interface LedgerHook {
    LedgerHook NONE = new LedgerHook() {
        @Override
        public void appended(SinkStore.Tx tx, LedgerEntry line) {
        }

        @Override
        public boolean wants(LedgerEntry line) {
            return false;
        }
    };

    void appended(SinkStore.Tx tx, LedgerEntry line) throws SQLException;

    /**
     * Whether {@link #appended} does anything for this line. The ingest batches the lines nobody
     * wants (one JDBC batch at the end); before a wanted line is handed over, everything pending is
     * written, so the hook sees the database (and the ledger's order) exactly as it would have line by
     * line. True unless a hook knows better.
     */
    default boolean wants(LedgerEntry line) {
        return true;
    }

    /**
     * Whether {@link #appended} reads the database for this line, so that everything before it must be
     * written first. A hook that only writes rows of its own (a pending wallet update) says false, and the
     * ingest keeps batching its lines.
     */
    default boolean readsStore(LedgerEntry line) {
        return true;
    }

    /** Both hooks, this one first; each is told only of the lines it wants. */
    default LedgerHook and(LedgerHook other) {
        LedgerHook first = this;
        return new LedgerHook() {
            @Override
            public void appended(SinkStore.Tx tx, LedgerEntry line) throws SQLException {
                if (first.wants(line)) {
                    first.appended(tx, line);
                }
                if (other.wants(line)) {
                    other.appended(tx, line);
                }
            }

            @Override
            public boolean wants(LedgerEntry line) {
                return first.wants(line) || other.wants(line);
            }

            @Override
            public boolean readsStore(LedgerEntry line) {
                return (first.wants(line) && first.readsStore(line)) || (other.wants(line) && other.readsStore(line));
            }
        };
    }
}
