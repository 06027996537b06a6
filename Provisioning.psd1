@{
    RootModule           = 'Provisioning.dll'
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Core')
    GUID                 = '6f0f6a55-3c1e-4c43-9d0e-2d8b8f7d0a11'
    Author               = 'Provisioning contributors'
    CompanyName          = 'Provisioning'
    Copyright            = '(c) Provisioning contributors. MIT License.'
    Description          = 'Set up testbeds of agent machines, run templated commands on them in parallel over OpenSSH, move files and keep a journal of every experiment run.'
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('Provisioning.Format.ps1xml')
    CmdletsToExport      = @(
        'New-Testbed'
        'Get-Testbed'
        'Remove-Testbed'
        'Get-AgentMachine'
        'Set-AgentVariable'
        'Test-AgentMachine'
        'Invoke-RemoteCommand'
        'Get-ExperimentRun'
        'Start-AgentProcess'
        'Get-AgentProcess'
        'Stop-AgentProcess'
        'Wait-AgentProcess'
        'Receive-AgentProcessOutput'
        'Send-AgentFile'
        'Receive-AgentFile'
        'Get-ExperimentResult'
        'Invoke-Provision'
        'Get-AgentFact'
        'Install-AgentPackage'
        'Uninstall-AgentPackage'
        'Save-AgentPackage'
        'Get-AgentPackage'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('SSH', 'Testbed', 'Provisioning', 'Experiments', 'OpenSSH', 'Linux')
        }
    }
}
