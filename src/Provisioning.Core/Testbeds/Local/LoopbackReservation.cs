using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;

namespace Provisioning.Core.Testbeds.Local;

/// <summary>
/// A block of loopback addresses (127.0.x.1 upwards, 254 per /24) and one port that is free on each of them,
/// held for a testbed's lifetime. Blocks are claimed with an exclusive lock file per /24 in the temp folder,
/// so Local testbeds of other processes and users on this machine never pick the same addresses; the
/// lock goes away with the process, even when it crashes. Every address is also bound once to prove that
/// nothing else (another tool, a wildcard listener) already uses it.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class LoopbackReservation : IDisposable
{
    /// <summary>Addresses per /24 block: .1 to .254.</summary>
    public const int AddressesPerBlock = 254;
    // 127.0.0.x is everyone's localhost and 127.0.1.1 is Debian's own hostname: stay well above both.
    private const int FirstBlock = 16;
    private const int LastBlock = 254;
    // Below the kernel's ephemeral range (32768+) so outgoing connections never hold our port.
    private const int FirstPort = 20000;
    private const int PortRange = 12000;
    private const int PortTriesPerBlock = 16;

    private readonly List<FileStream> _locks;

    private LoopbackReservation(IReadOnlyList<IPAddress> addresses, int port, List<FileStream> locks)
    {
        Addresses = addresses;
        Port = port;
        _locks = locks;
    }

    /// <summary>One address per agent, in agent order.</summary>
    public IReadOnlyList<IPAddress> Addresses { get; }

    /// <summary>The port every agent listens on.</summary>
    public int Port { get; }

    /// <summary>Largest number of agents a single testbed can have.</summary>
    public static int MaxCount => (LastBlock - FirstBlock + 1) * AddressesPerBlock;

    /// <summary>Claims <paramref name="count"/> consecutive loopback addresses in a random free block.</summary>
    public static LoopbackReservation Reserve(int count)
    {
        var blocks = (count + AddressesPerBlock - 1) / AddressesPerBlock;
        var starts = Enumerable.Range(FirstBlock, LastBlock - FirstBlock + 2 - blocks).ToArray();
        Random.Shared.Shuffle(starts);
        var lockDirectory = LockDirectory();
        foreach (var start in starts)
        {
            var locks = TryLockBlocks(lockDirectory, start, blocks);
            if (locks is null) continue;
            var addresses = Enumerable.Range(0, count)
                .Select(i => new IPAddress(new byte[] { 127, 0, (byte)(start + i / AddressesPerBlock), (byte)(i % AddressesPerBlock + 1) }))
                .ToArray();
            for (var attempt = 0; attempt < PortTriesPerBlock; attempt++)
            {
                var port = FirstPort + Random.Shared.Next(PortRange);
                if (addresses.All(a => CanBind(a, port))) return new LoopbackReservation(addresses, port, locks);
            }
            foreach (var l in locks) l.Dispose();
        }
        throw new InvalidOperationException($"No free block of {count} loopback addresses with a free port was found in 127.0.{FirstBlock}.0-127.0.{LastBlock}.255.");
    }

    /// <summary>Releases the block for other testbeds.</summary>
    public void Dispose()
    {
        foreach (var l in _locks) l.Dispose();
        _locks.Clear();
    }

    private static string LockDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "provisioning-loopback");
        if (!Directory.Exists(dir))
        {
            Directory.CreateDirectory(dir);
            // Shared by every user of the machine, like /tmp itself.
            try { File.SetUnixFileMode(dir, (UnixFileMode)Convert.ToInt32("1777", 8)); }
            catch (UnauthorizedAccessException) { }
        }
        return dir;
    }

    private static List<FileStream>? TryLockBlocks(string lockDirectory, int start, int blocks)
    {
        var locks = new List<FileStream>();
        for (var b = start; b < start + blocks; b++)
        {
            var l = TryLock(Path.Combine(lockDirectory, $"127.0.{b}.lock"));
            if (l is null)
            {
                foreach (var held in locks) held.Dispose();
                return null;
            }
            locks.Add(l);
        }
        return locks;
    }

    // FileShare.None takes an exclusive flock(2) on Unix; it fails at once while another open file holds it.
    private static FileStream? TryLock(string path)
    {
        try
        {
            if (File.Exists(path)) return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            var created = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
            try { File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("666", 8)); }
            catch (UnauthorizedAccessException) { }
            return created;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Locked by someone else, created by another user we may not open, or a lost creation race.
            return null;
        }
    }

    private static bool CanBind(IPAddress address, int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
