using System.Runtime.Versioning;

// Every test here runs real OpenSSH sshd agents on Linux loopback addresses (the Local provider is Linux-only).
[assembly: SupportedOSPlatform("linux")]
