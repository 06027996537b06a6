#Requires -Version 7.4
<#
.SYNOPSIS
Builds, tests, documents and packages the Provisioning module.

.DESCRIPTION
Build    dotnet build; the build itself assembles the importable module at module/Provisioning
         (manifest, Provisioning.dll, format file, dependencies/, en-US help), so CI without pwsh gets the same folder.
Test     dotnet test of the solution (the Pester suites tests/*.Tests.ps1 run inside it).
Docs     Turns docs/*.md (PlatyPS markdown) into en-US help in module/Provisioning. The build already does this
         with the built-in compiler (src/Provisioning.HelpCompiler); this task redoes it, with PlatyPS when it
         is installed (Microsoft.PowerShell.PlatyPS 1.x, or platyPS 0.14) and with the built-in compiler otherwise.
Package  Zips module/Provisioning into artifacts/, and makes a .nupkg there when PSResourceGet is available.

.EXAMPLE
./build.ps1 -Task Build, Docs, Package -Configuration Release
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Docs', 'Package')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = $PSScriptRoot
$solution = Join-Path $root 'Provisioning.slnx'
$moduleDir = Join-Path $root 'module/Provisioning'
$helpDir = Join-Path $moduleDir 'en-US'
$artifacts = Join-Path $root 'artifacts'
$version = (Import-PowerShellDataFile (Join-Path $root 'Provisioning.psd1')).ModuleVersion

function Invoke-Native {
    param([string] $What, [scriptblock] $Command)
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "$What failed with exit code $LASTEXITCODE." }
}

function Invoke-BuildTask {
    Invoke-Native 'dotnet build' { dotnet build (Join-Path $root 'src/Provisioning') --configuration $Configuration }
    if (-not (Test-Path (Join-Path $moduleDir 'Provisioning.dll'))) { throw "The build did not assemble $moduleDir." }
    Write-Host "Module $version assembled in $moduleDir"
}

function Invoke-TestTask {
    # The Pester suites (tests/*.Tests.ps1) run inside dotnet test, in tests/Provisioning.PowerShellTests, through
    # the PowerShell SDK and a pinned Pester; run them alone with: Invoke-Pester ./tests
    Invoke-Native 'dotnet test' { dotnet test $solution --configuration $Configuration }
}

function Invoke-DocsTask {
    $docs = Join-Path $root 'docs'

    # Every build already compiles the help with the built-in compiler (src/Provisioning.HelpCompiler, run after
    # AssembleModule in src/Provisioning); this task recompiles it without a full build, then lets PlatyPS redo the
    # cmdlet help when PlatyPS is installed. The about topics always come from the built-in compiler.
    $compiler = Join-Path $root 'src/Provisioning.HelpCompiler'
    Invoke-Native 'The help compiler' { dotnet run --project $compiler --configuration $Configuration -- $docs $helpDir }
    $by = 'the built-in help compiler (src/Provisioning.HelpCompiler)'

    if (Get-Module -ListAvailable Microsoft.PowerShell.PlatyPS) {
        Import-Module Microsoft.PowerShell.PlatyPS
        $staging = Join-Path ([IO.Path]::GetTempPath()) "provisioning-help-$PID"
        try {
            Measure-PlatyPSMarkdown -Path (Join-Path $docs '*.md') |
                Where-Object Filetype -Match 'CommandHelp' |
                Import-MarkdownCommandHelp -Path { $_.FilePath } |
                Export-MamlCommandHelp -OutputFolder $staging -Force | Out-Null
            # PowerShell looks up a binary cmdlet's help as <assembly>-Help.xml.
            $maml = Get-ChildItem $staging -Recurse -Filter '*-Help.xml' | Select-Object -First 1
            Copy-Item $maml.FullName (Join-Path $helpDir 'Provisioning.dll-Help.xml') -Force
        }
        finally {
            Remove-Item $staging -Recurse -Force -ErrorAction SilentlyContinue
        }
        $by = 'PlatyPS (Microsoft.PowerShell.PlatyPS); about topics by the built-in help compiler'
    }
    elseif (Get-Module -ListAvailable platyPS) {
        Import-Module platyPS
        New-ExternalHelp -Path (Get-ChildItem $docs -Filter '*.md' -Exclude 'about_*').FullName -OutputPath $helpDir -Force | Out-Null
        $by = 'PlatyPS (platyPS); about topics by the built-in help compiler'
    }
    Write-Host "Help written to $helpDir by $by"
}

function Invoke-PackageTask {
    if (-not (Test-Path (Join-Path $moduleDir 'Provisioning.dll'))) { Invoke-BuildTask }
    New-Item -ItemType Directory -Force -Path $artifacts | Out-Null

    $zip = Join-Path $artifacts "Provisioning-$version.zip"
    Compress-Archive -Path $moduleDir -DestinationPath $zip -Force
    Write-Host "Wrote $zip"

    if (-not (Get-Command Publish-PSResource -ErrorAction SilentlyContinue)) {
        Write-Warning 'PSResourceGet is not available; skipping the .nupkg.'
        return
    }
    # Publishing to a folder repository produces the .nupkg that Install-PSResource understands.
    $repository = "ProvisioningLocal$PID"
    Remove-Item (Join-Path $artifacts "Provisioning.$version.nupkg") -ErrorAction SilentlyContinue
    Register-PSResourceRepository -Name $repository -Uri $artifacts -Trusted
    try {
        Publish-PSResource -Path $moduleDir -Repository $repository
        Write-Host "Wrote $(Join-Path $artifacts "Provisioning.$version.nupkg")"
    }
    finally {
        Unregister-PSResourceRepository -Name $repository
    }
}

foreach ($step in $Task) {
    Write-Host "== $step ($Configuration)"
    switch ($step) {
        'Build' { Invoke-BuildTask }
        'Test' { Invoke-TestTask }
        'Docs' { Invoke-DocsTask }
        'Package' { Invoke-PackageTask }
    }
}
