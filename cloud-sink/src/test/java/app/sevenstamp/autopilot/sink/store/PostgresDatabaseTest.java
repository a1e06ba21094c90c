package app.sevenstamp.autopilot.sink.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.FreePorts;
import app.sevenstamp.autopilot.sink.testing.PostgresCluster;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What only a shared PostgreSQL has: several processes on one database. */
class PostgresDatabaseTest {
    @Test
    void twoInstancesStartingAtOnceMigrateOnce() throws Exception {
        String url = PostgresCluster.shared().newDatabase();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Database a = PostgresDatabase.open(url, "sink", null, 2); Database b = PostgresDatabase.open(url, "sink", null, 2)) {
            CountDownLatch go = new CountDownLatch(1);
            Callable<Integer> runA = () -> {
                go.await();
                return Migrations.migrate(a, Migrations.ALL);
            };
            Callable<Integer> runB = () -> {
                go.await();
                return Migrations.migrate(b, Migrations.ALL);
            };
            Future<Integer> fa = pool.submit(runA);
            Future<Integer> fb = pool.submit(runB);
            go.countDown();
            assertEquals(Migrations.latest(), fa.get(30, TimeUnit.SECONDS));
            assertEquals(Migrations.latest(), fb.get(30, TimeUnit.SECONDS));
            try (Connection c = a.connection(); Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_version")) {
                rs.next();
                assertEquals(Migrations.ALL.size(), rs.getInt(1), "each migration recorded once");
                assertEquals(Migrations.ALL.size(), rs.getInt(2));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anUnreachableServerIsNamedWithoutThePassword() {
        String url = "jdbc:postgresql://127.0.0.1:" + FreePorts.pick() + "/sink?connectTimeout=2";
        StoreException e = assertThrows(StoreException.class, () -> PostgresDatabase.open(url, "sink", "s3cret", 2));
        assertTrue(e.getMessage().startsWith("store " + url + " cannot be reached: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; check store.url, store.user and store.password, and that PostgreSQL is "
                + "running"), e.getMessage());
        assertTrue(!e.getMessage().contains("s3cret"));
    }
}
