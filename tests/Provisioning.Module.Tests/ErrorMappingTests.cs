using System.Reflection;
using System.Text.RegularExpressions;

namespace Provisioning.Module.Tests;

[Collection(BuiltModuleCollection.Name)]
public sealed class ErrorMappingTests(BuiltModule module)
{
    private IReadOnlyList<(string Kind, string ErrorId, string Category)> Mappings()
    {
        var factory = module.Cmdlets.GetType("Provisioning.Errors.ErrorRecordFactory", throwOnError: true)!;
        var category = module.SmaType("System.Management.Automation.ErrorCategory");
        var kind = module.Core.GetType("Provisioning.Core.Errors.ErrorKind", throwOnError: true)!;
        return factory.GetCustomAttributesData()
            .Where(a => a.AttributeType.Name == "ErrorMappingAttribute")
            .Select(a => (
                EnumName(kind, a.ConstructorArguments[0].Value),
                (string)a.ConstructorArguments[1].Value!,
                EnumName(category, a.ConstructorArguments[2].Value)))
            .ToList();
    }

    private IReadOnlyList<string> ErrorKinds() =>
        module.Core.GetType("Provisioning.Core.Errors.ErrorKind", throwOnError: true)!
            .GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => f.Name).ToList();

    [Fact]
    public void Every_error_kind_has_exactly_one_error_id_and_category()
    {
        var mapped = Mappings().GroupBy(m => m.Kind).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(ErrorKinds(), kind =>
        {
            Assert.True(mapped.ContainsKey(kind), $"ErrorKind.{kind} has no [ErrorMapping] on ErrorRecordFactory");
            Assert.Equal(1, mapped[kind]);
        });
        Assert.Equal(ErrorKinds().Count, Mappings().Count);
    }

    [Fact]
    public void Error_ids_are_unique_noun_condition_names()
    {
        var ids = Mappings().Select(m => m.ErrorId).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(ids, id => Assert.Matches("^(?:[A-Z][a-z]+){2,}$", id));
    }

    [Fact]
    public void Only_internal_errors_are_uncategorised()
    {
        Assert.All(Mappings(), m =>
        {
            Assert.NotEqual("", m.Category);
            if (m.Kind != "Internal") Assert.NotEqual("NotSpecified", m.Category);
        });
        var byKind = Mappings().ToDictionary(m => m.Kind);
        Assert.Equal(("AgentMachineUnreachable", "ConnectionError"), (byKind["HostUnreachable"].ErrorId, byKind["HostUnreachable"].Category));
        Assert.Equal("SecurityError", byKind["HostKeyVerificationFailed"].Category);
        Assert.Equal("AuthenticationError", byKind["AuthenticationFailed"].Category);
        Assert.Equal("OperationTimeout", byKind["CommandTimedOut"].Category);
        Assert.Equal("InvalidData", byKind["TestbedFormat"].Category);
    }

    [Fact]
    public void The_about_topic_lists_every_error_id_with_its_category()
    {
        var about = File.ReadAllText(Path.Combine(module.RepositoryRoot, "docs", "about_Provisioning.md"));
        Assert.All(Mappings(), m => Assert.Matches(new Regex($@"\|\s*`?{m.ErrorId}`?\s*\|\s*{m.Category}\s*\|"), about));
    }

    private static string EnumName(Type enumType, object? value) =>
        enumType.GetFields(BindingFlags.Public | BindingFlags.Static).Single(f => Equals(f.GetRawConstantValue(), value)).Name;
}
