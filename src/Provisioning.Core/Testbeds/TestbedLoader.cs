namespace Provisioning.Core.Testbeds;

/// <summary>Loads a testbed from its YAML description (see README "Testbed file").</summary>
public static class TestbedLoader
{
    /// <summary>
    /// Reads and validates <paramref name="path"/>. Throws <see cref="Errors.TestbedFormatException"/> (file, line,
    /// column, key) for bad YAML, unknown keys, duplicate hosts, roles naming unknown hosts, bad ports and bad ranges,
    /// and <see cref="Errors.ProvisioningException"/> with <see cref="Errors.ErrorKind.LocalPathNotFound"/> for a missing file.
    /// Nothing is returned half-loaded.
    /// </summary>
    public static Testbed Load(string path) => throw new NotImplementedException();

    /// <summary>Parses YAML text; <paramref name="sourceName"/> is used in error messages and as SourcePath.</summary>
    public static Testbed Parse(string yaml, string sourceName) => throw new NotImplementedException();
}
