package main

import (
	"github.com/urfave/cli/v2"
)

// bashCompletion asks nv2 itself (urfave/cli's --generate-bash-completion)
// for the commands that may follow what is typed so far.
const bashCompletion = `# nv2 completion for bash: source <(nv2 completion bash)
_nv2_complete() {
  local cur words
  cur="${COMP_WORDS[COMP_CWORD]}"
  # Commands and subcommands; flags are left to 'nv2 COMMAND --help'.
  [[ "$cur" == -* ]] && return 0
  words=$("${COMP_WORDS[0]}" "${COMP_WORDS[@]:1:$((COMP_CWORD-1))}" --generate-bash-completion 2>/dev/null)
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o bashdefault -o default -F _nv2_complete nv2
`

// zshCompletion does the same through zsh's bash completion emulation.
const zshCompletion = `# nv2 completion for zsh: source <(nv2 completion zsh)
autoload -U +X bashcompinit && bashcompinit
` + bashCompletion

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash or zsh)",
		ArgsUsage: "bash|zsh",
		Description: "Completes nv2's commands and subcommands in your shell:\n\n" +
			"   source <(nv2 completion bash)     # add to ~/.bashrc to keep it",
		Action: func(c *cli.Context) error {
			shell, err := oneArg(c, "shell name (bash or zsh)")
			if err != nil {
				return err
			}
			switch shell {
			case "bash":
				printf(c.App.Writer, "%s", bashCompletion)
			case "zsh":
				printf(c.App.Writer, "%s", zshCompletion)
			default:
				return usageErrorf("no completion for %q: use bash or zsh", shell)
			}
			return nil
		},
	}
}
