using Provisioning.Core.Transport;

namespace Provisioning.Core.Transfer;

/// <summary>
/// The fixed POSIX shell scripts a transfer runs on the host (sent as the ssh command; the data travels on
/// stdin and stdout). They need only sh, GNU coreutils (sha256sum -z, stat, mv -T, mktemp), find, xargs and
/// GNU tar. Paths are embedded single-quoted; nothing secret is in them.
/// </summary>
internal static class TransferScripts
{
    /// <summary>First line of a fetch stream with matches: <c>PROV-FETCH &lt;manifest bytes&gt;</c>.</summary>
    public const string FetchHeader = "PROV-FETCH";
    /// <summary>The whole fetch stream when the pattern matched no file.</summary>
    public const string NoMatchHeader = "PROV-NOMATCH";

    /// <summary>Name of the manifest entry of a receive stream (relative to its root).</summary>
    public static string ManifestName(string nonce) => $".prov-{nonce}.list";

    /// <summary>Name of the end marker entry of a receive stream: present only when the stream is complete.</summary>
    public static string EndMarkerName(string nonce) => $".prov-{nonce}.end";

    /// <summary>Temporary name of file <paramref name="index"/> (final path <paramref name="name"/>), beside its destination.</summary>
    public static string TemporaryName(string name, string nonce, int index)
    {
        var slash = name.LastIndexOf('/');
        return slash < 0 ? $".prov-{nonce}-{index}" : $"{name[..slash]}/.prov-{nonce}-{index}";
    }

    /// <summary>
    /// Reports what is at <paramref name="destination"/> (one NUL-terminated record: D directory, F something
    /// else, N nothing), then, for a directory, the SHA-256 (<c>sha256sum -z</c> records) and permission bits
    /// (<c>M&lt;octal&gt; &lt;name&gt;</c> records) of the NUL-separated names read from stdin, relative to it;
    /// for a file, those of the file itself. One round trip whatever the number of files; missing files are
    /// simply absent from the output.
    /// </summary>
    public static string Probe(string destination) => $$"""
        r={{PosixShell.QuotePath(destination)}}
        if [ -d "$r" ]; then
          printf 'D\0'
          cd -- "$r" || exit 0
          xargs -0 -r sh -c 'sha256sum -z -- "$@" 2>/dev/null; stat -L --printf "M%a %n\0" -- "$@" 2>/dev/null; exit 0' sh
        elif [ -e "$r" ]; then
          printf 'F\0'
          sha256sum -z -- "$r" 2>/dev/null; stat -L --printf 'M%a %n\0' -- "$r" 2>/dev/null
        else
          printf 'N\0'
        fi
        exit 0
        """;

    /// <summary>
    /// Receives a tar stream on stdin into <paramref name="root"/> (created if missing). The stream holds a
    /// manifest <c>.prov-N.list</c> (the final relative paths, one a line), then file i as <c>dir/.prov-N-i</c>
    /// beside its destination, then an empty <c>.prov-N.end</c>. Only when tar succeeded and the end marker
    /// arrived is each file renamed into place (<c>mv -T</c>: atomic, same folder); otherwise, and on
    /// HUP/INT/TERM/PIPE, every temporary file is removed. Prints <c>M i</c> for each file moved.
    /// </summary>
    public static string Receive(string root, string nonce, bool exactMode) => $$"""
        r={{PosixShell.QuotePath(root)}}; n={{nonce}}; m=.prov-$n.list; e=.prov-$n.end
        mkdir -p -- "$r" && cd -- "$r" || exit 3
        clean() {
          if [ -f "$m" ]; then
            i=0
            while IFS= read -r p; do
              case $p in */*) rm -f -- "${p%/*}/.prov-$n-$i";; *) rm -f -- ".prov-$n-$i";; esac
              i=$((i+1))
            done < "$m"
          fi
          rm -f -- "$m" "$e"
        }
        trap 'clean; exit 143' HUP INT TERM PIPE
        tar -x -b 256 -B -f - --no-same-owner -m {{(exactMode ? "--same-permissions" : "--no-same-permissions")}}
        rc=$?
        if [ "$rc" -ne 0 ] || [ ! -f "$e" ]; then
          # Before cleaning frees the space: tar reports a full disk only as a short write.
          set -- $(df -Pk . 2>/dev/null | tail -n 1)
          [ "$rc" -ne 0 ] && [ "${4:-1}" = 0 ] && echo "provisioning: No space left on device in $r" >&2
          clean
          echo "provisioning: the transfer did not complete (tar exit status $rc); nothing was moved into place" >&2
          exit 3
        fi
        trap '' PIPE
        i=0; bad=0
        while IFS= read -r p; do
          case $p in */*) t=${p%/*}/.prov-$n-$i;; *) t=.prov-$n-$i;; esac
          if mv -fT -- "$t" "$p"; then echo "M $i"; else bad=1; rm -f -- "$t"; fi
          i=$((i+1))
        done < "$m"
        rm -f -- "$m" "$e"
        exit $bad
        """;

    /// <summary>
    /// Expands <paramref name="pattern"/> with the host's shell (no word splitting), lists the regular files it
    /// names (directories recursively, symlinks followed), and writes to stdout: a header line, the
    /// <c>sha256sum -z</c> records of those files, then one tar stream of them. Temporary lists live in
    /// mktemp files removed on exit.
    /// </summary>
    public static string Pack(string pattern) => $$"""
        p={{PosixShell.QuotePath(pattern)}}
        l=$(mktemp) && h=$(mktemp) || exit 3
        trap 'rm -f -- "$l" "$h"' EXIT
        trap 'exit 143' HUP INT TERM PIPE
        IFS=
        set -- $p
        if [ ! -e "$1" ] && [ ! -L "$1" ]; then printf '{{NoMatchHeader}}\n'; exit 0; fi
        for a do shift; case $a in -*) a=./$a;; esac; set -- "$@" "$a"; done
        find -H "$@" -type f -print0 > "$l"
        if [ ! -s "$l" ]; then printf '{{NoMatchHeader}}\n'; exit 0; fi
        xargs -0 -r sha256sum -z -- < "$l" > "$h"
        printf '{{FetchHeader}} %d\n' $(($(wc -c < "$h")))
        cat -- "$h"
        tar -c -f - -h --hard-dereference --no-recursion --null -T "$l"
        """;

    /// <summary>
    /// Removes the temporary files of an interrupted receive (their names, relative to <paramref name="root"/>,
    /// NUL-separated on stdin). Used after a connection drop, when the host's own trap may not have run.
    /// </summary>
    public static string Sweep(string root) => $"""
        cd -- {PosixShell.QuotePath(root)} 2>/dev/null || exit 0
        xargs -0 -r rm -f --
        """;
}
