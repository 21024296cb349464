// Tiny launcher for de.bwaldvogel:mongo-java-server (a MongoDB wire-protocol server in Java).
// Used by scripts/stack/stack.sh as Ferry's local "MongoDB" when no real mongod is available.
//
//   java -cp 'lib/*:classes' FerryMongoServer --host 127.0.0.1 --port 27017 --file /path/mongo.mv
//   java -cp 'lib/*:classes' FerryMongoServer --host 127.0.0.1 --port 27017 --memory
//   java -cp 'lib/*:classes' FerryMongoServer --ping 127.0.0.1 27017      (readiness probe, exit 0 if ok)
//
// --file uses the H2 MVStore backend so data survives restarts; --memory keeps nothing.
// --oplog (default) / --no-oplog: mongo-java-server only answers $changeStream (collection.watch)
// when its oplog is enabled; without it the server hands back an empty, closed cursor, and the
// Node driver fails on the first tryNext ("Unknown error: null"). The oplog is a plain collection,
// local.oplog.rs, that is never trimmed: every insert keeps a full copy of the document there and
// every change-stream getMore scans it whole, so memory and poll cost grow with all writes since
// the start. Ferry wants change streams for reverse sync from a MongoDB target; turn it off for
// big benchmarks (FERRY_MONGO_OPLOG=off in stack.sh). See engines/mongodb/change-stream.ts for
// what its change streams do and do not support.
// mongo-java-server's newest built-in ServerVersion (MONGO_5_0) advertises maxWireVersion 8, but the
// Node driver 7.x refuses servers below wire version 9 (MongoDB 4.4). So we advertise a configurable
// version, default 5.0 / wire 13 (--wire-version N --version-string 5.0.0).
import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

import de.bwaldvogel.mongo.MongoVersion;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

public final class FerryMongoServer {
    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("--ping")) {
            System.exit(ping(args[1], Integer.parseInt(args[2])) ? 0 : 1);
        }
        String host = "127.0.0.1";
        int port = 27017;
        String file = null;
        int wire = 13;
        String versionString = "5.0.0";
        boolean oplog = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host": host = args[++i]; break;
                case "--port": port = Integer.parseInt(args[++i]); break;
                case "--file": file = args[++i]; break;
                case "--memory": file = null; break;
                case "--wire-version": wire = Integer.parseInt(args[++i]); break;
                case "--version-string": versionString = args[++i]; break;
                case "--oplog": oplog = true; break;
                case "--no-oplog": oplog = false; break;
                default: throw new IllegalArgumentException("unknown argument: " + args[i]);
            }
        }
        final MongoBackend backend = file == null ? new MemoryBackend() : new H2Backend(file);
        final List<Integer> versionArray = new ArrayList<>();
        for (String part : versionString.split("\\.")) versionArray.add(Integer.parseInt(part));
        final int wireVersion = wire;
        backend.version(new MongoVersion() {
            @Override public List<Integer> getVersionArray() { return versionArray; }
            @Override public int getWireVersion() { return wireVersion; }
        });
        final MongoServer server = new MongoServer(backend);
        // Before bind: no write may land before the oplog exists (it would be missing from streams).
        if (oplog) server.enableOplog();
        final CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM (stack.sh down) -> stop listening, flush and close the MVStore file cleanly.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("FerryMongoServer: shutting down");
            server.shutdown();
            stopped.countDown();
        }));
        server.bind(host, port);
        System.err.println("FerryMongoServer: listening on " + host + ":" + port
                + " backend=" + (file == null ? "memory" : "h2:" + file) + " oplog=" + (oplog ? "on" : "off"));
        stopped.await();
    }

    /**
     * Sends a real OP_MSG {ping: 1, $db: "admin"} and checks the reply says ok: 1.
     * Raw wire protocol so the probe needs no driver on the classpath.
     */
    static boolean ping(String host, int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 2000);
            socket.setSoTimeout(3000);
            ByteArrayOutputStream bson = new ByteArrayOutputStream();
            bson.write(0x10); bson.write("ping\0".getBytes(StandardCharsets.UTF_8)); bson.write(le32(1));
            bson.write(0x02); bson.write("$db\0".getBytes(StandardCharsets.UTF_8)); bson.write(le32(6));
            bson.write("admin\0".getBytes(StandardCharsets.UTF_8));
            bson.write(0x00);
            byte[] body = bson.toByteArray();
            byte[] doc = ByteBuffer.allocate(4 + body.length).order(ByteOrder.LITTLE_ENDIAN)
                    .putInt(4 + body.length).put(body).array();
            int len = 16 + 4 + 1 + doc.length;
            ByteBuffer msg = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
            msg.putInt(len).putInt(1).putInt(0).putInt(2013).putInt(0).put((byte) 0).put(doc);
            OutputStream out = socket.getOutputStream();
            out.write(msg.array());
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            byte[] header = new byte[16];
            in.readFully(header);
            int replyLen = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
            byte[] reply = new byte[replyLen - 16];
            in.readFully(reply);
            // look for element "ok" as double 1.0 or int32 1
            String r = new String(reply, StandardCharsets.ISO_8859_1);
            int i = r.indexOf("ok\0");
            if (i < 1) return false;
            ByteBuffer v = ByteBuffer.wrap(reply, i + 3, reply.length - i - 3).order(ByteOrder.LITTLE_ENDIAN);
            switch (reply[i - 1]) {
                case 0x01: return v.getDouble() == 1.0;
                case 0x10: return v.getInt() == 1;
                default: return false;
            }
        } catch (Exception e) {
            return false;
        }
    }

    private static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
