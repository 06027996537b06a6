using System.Threading.Channels;

namespace Provisioning.Core.Transfer;

/// <summary>Streams the items of per-host result lists as each host's list arrives.</summary>
internal static class FlattenedChannel
{
    public static ChannelReader<T> Flatten<T>(ChannelReader<IReadOnlyList<T>> source)
    {
        var channel = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var batch in source.ReadAllAsync().ConfigureAwait(false))
                    foreach (var item in batch) channel.Writer.TryWrite(item);
                channel.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                channel.Writer.TryComplete(ex);
            }
        });
        return channel.Reader;
    }
}
