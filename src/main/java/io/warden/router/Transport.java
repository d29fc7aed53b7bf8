package io.warden.router;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.warden.common.WardenException;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The kernel interface the relay's event loops wait and move bytes through (router config key {@code transport}).
 *
 * <p>io_uring: each loop turn hands the kernel every read and write it has queued in one {@code io_uring_enter}
 * and collects what finished, where epoll costs an {@code epoll_wait} plus a {@code read} and a {@code write} for
 * every message relayed. The relay moves many small messages (each statement of a transaction is one each way, on
 * both of its connections), so system calls are much of its work: io_uring cut the router's CPU per transaction
 * by 10-30% (docs/router.md). epoll stays for kernels without io_uring, containers whose seccomp profile blocks
 * it, and {@code kernel.io_uring_disabled}.
 */
enum Transport {
    /**
     * One loop per two cores: on the 2-core bench machine one io_uring loop relayed as many transactions as two, and
     * its p99 was 20-30% lower at 8 and 64 clients (docs/router.md). Each loop keeps its sessions, and with two the
     * scheduler served one loop's sessions later than the other's; one loop serves every session from one queue.
     */
    IO_URING(
            "io_uring",
            IoUring::isAvailable,
            IoUring::unavailabilityCause,
            IoUringIoHandler::newFactory,
            IoUringSocketChannel.class,
            IoUringServerSocketChannel.class,
            Math.max(1, Cores.COUNT / 2)),
    /** Two loops: one epoll loop spent ~70% of a loaded run waiting for a CPU, with every session behind it. */
    EPOLL(
            "epoll",
            Epoll::isAvailable,
            Epoll::unavailabilityCause,
            EpollIoHandler::newFactory,
            EpollSocketChannel.class,
            EpollServerSocketChannel.class,
            Math.min(2, Cores.COUNT));

    private final String configName;
    private final BooleanSupplier available;
    private final Supplier<Throwable> whyNot;
    private final Supplier<IoHandlerFactory> handlers;
    private final Class<? extends SocketChannel> socketChannel;
    private final Class<? extends ServerSocketChannel> serverChannel;
    private final int loops;

    Transport(
            String configName,
            BooleanSupplier available,
            Supplier<Throwable> whyNot,
            Supplier<IoHandlerFactory> handlers,
            Class<? extends SocketChannel> socketChannel,
            Class<? extends ServerSocketChannel> serverChannel,
            int loops) {
        this.configName = configName;
        this.available = available;
        this.whyNot = whyNot;
        this.handlers = handlers;
        this.socketChannel = socketChannel;
        this.serverChannel = serverChannel;
        this.loops = loops;
    }

    /** How many event loops relay on this transport. */
    int loops() {
        return loops;
    }

    IoHandlerFactory handlers() {
        return handlers.get();
    }

    Class<? extends SocketChannel> socketChannel() {
        return socketChannel;
    }

    Class<? extends ServerSocketChannel> serverChannel() {
        return serverChannel;
    }

    String configName() {
        return configName;
    }

    boolean available() {
        return available.getAsBoolean();
    }

    /** The config value as given (null or {@code auto}: the first available in declaration order). */
    static Transport parse(String value) {
        if (value == null || value.equalsIgnoreCase("auto")) {
            return null;
        }
        for (Transport transport : values()) {
            if (transport.configName.equals(value.toLowerCase(Locale.ROOT))) {
                return transport;
            }
        }
        throw new IllegalArgumentException("transport '" + value + "' is not one of auto, io_uring, epoll");
    }

    /**
     * The transport to run on: the one configured, which must load here, or with {@code auto} the first that
     * loads (io_uring, then epoll).
     */
    static Transport choose(String configured) {
        Transport wanted = parse(configured);
        if (wanted != null) {
            if (!wanted.available()) {
                throw new WardenException(
                        "the router's transport " + wanted.configName + " cannot be used here: " + wanted.whyNot.get(),
                        "set 'transport: auto' (or epoll) in the router config, or run on a Linux kernel that offers it");
            }
            return wanted;
        }
        for (Transport transport : values()) {
            if (transport.available()) {
                return transport;
            }
        }
        throw new WardenException(
                "the router needs io_uring or epoll, and Netty can load neither here: " + EPOLL.whyNot.get(),
                "run the router on Linux x86-64");
    }

    /** Enum constants are built before the enum's own static fields, so the core count lives here. */
    private static final class Cores {
        static final int COUNT = Runtime.getRuntime().availableProcessors();
    }
}
