package io.warden.router;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.unix.UnixChannelOption;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The router's two listening ports: bound when it may route, closed when it fences (a fenced router must not even
 * accept connections: a client then tries the other router of its multi-host URI at once).
 */
final class Listeners {
    private final Map<Router.Port, Channel> bound = new ConcurrentHashMap<>();
    private final EventLoopGroup loops;
    private final Transport transport;
    private final String host;
    /** The first handler of each accepted client connection, by the port it came in on. */
    private final Function<Router.Port, ChannelHandler> clientHandler;

    Listeners(
            EventLoopGroup loops,
            Transport transport,
            String host,
            Function<Router.Port, ChannelHandler> clientHandler) {
        this.loops = loops;
        this.transport = transport;
        this.host = host;
        this.clientHandler = clientHandler;
    }

    void listen(Router.Port port, int number) throws IOException {
        ChannelFuture listening = new ServerBootstrap()
                .group(loops)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(UnixChannelOption.SO_REUSEPORT, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.ALLOCATOR, Router.BUFFERS)
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, Router.READS)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel client) {
                        client.pipeline().addLast(clientHandler.apply(port));
                    }
                })
                .bind(new InetSocketAddress(host, number))
                .awaitUninterruptibly();
        if (!listening.isSuccess()) {
            throw new IOException("port " + number + ": " + listening.cause().getMessage(), listening.cause());
        }
        bound.put(port, listening.channel());
    }

    /** Closes both ports and waits until they no longer accept. */
    void close() {
        bound.values().forEach(listener -> listener.close().awaitUninterruptibly());
        bound.clear();
    }

    /** The port a listener is bound to (the configured one, or the kernel's pick for 0); 0 while not listening. */
    int boundPort(Router.Port port) {
        Channel listener = bound.get(port);
        return listener == null ? 0 : ((InetSocketAddress) listener.localAddress()).getPort();
    }
}
