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
    LedgerHook NONE = (tx, line) -> { };

    void appended(SinkStore.Tx tx, LedgerEntry line) throws SQLException;
}
